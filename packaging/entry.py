"""Entry script of the PyInstaller bundle: ``moonlight ARGS`` is the ``moonlight`` CLI."""

from __future__ import annotations

from moonlight.core.cli.app import main

if __name__ == "__main__":
    main()
