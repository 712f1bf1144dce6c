"""MoonLight operator console: a Flet (Flutter) client of the server's REST + WebSocket API.

It imports nothing from the engine; everything it shows comes from a running MoonLight
server through the API token (or a one-time login link). UI-independent logic lives in
plain modules (:mod:`~moonlight.console.api`, :mod:`~moonlight.console.live`,
:mod:`~moonlight.console.state`, :mod:`~moonlight.console.formatting`); the Flet views
are in :mod:`moonlight.console.ui`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("moonlight-console")
except PackageNotFoundError:  # run from a source tree without installation
    __version__ = "0.0.0"
