"""MoonLight core: the plugin host, configuration, contracts, storage and executor.

This package imports none of the other MoonLight distributions; they depend on it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("moonlight-core")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
