"""The ``moonlight`` command line. Each command group lives in its own module."""

from moonlight.core.cli.app import main

__all__ = ["main"]
