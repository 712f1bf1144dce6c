"""``moonlight-console``: the operator console as a native window or in a browser.

    moonlight-console                        # native window (needs the desktop extra)
    moonlight-console --web                  # serve it on http://127.0.0.1:8550 and open it
    moonlight-console --web --no-browser --port 8600 --server http://127.0.0.1:9000

The browser build is served from this machine with its Flutter assets (no CDN). It
binds 127.0.0.1 unless ``--host`` says otherwise; every browser tab signs in on its
own (a login link or the API token), and the OS keyring is used only by the window.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from collections.abc import Sequence

import flet as ft

from moonlight.console import __version__
from moonlight.console.signin import DEFAULT_SERVER, SignInError, parse_server
from moonlight.console.ui.app import ConsoleOptions, make_main

WEB_PORT = 8550


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="moonlight-console",
        description="MoonLight operator console: a client of a running MoonLight server.",
    )
    cli.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        help=f"the MoonLight server's address (default {DEFAULT_SERVER})",
    )
    cli.add_argument(
        "--web",
        action="store_true",
        help="serve the console to a browser instead of opening a window",
    )
    cli.add_argument(
        "--host",
        default="127.0.0.1",
        help="--web: address to listen on (default 127.0.0.1, this machine only)",
    )
    cli.add_argument(
        "--port", type=int, default=WEB_PORT, help=f"--web: port to listen on (default {WEB_PORT})"
    )
    cli.add_argument("--no-browser", action="store_true", help="--web: do not open a browser tab")
    cli.add_argument("--version", action="version", version=f"moonlight-console {__version__}")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    args = parser().parse_args(argv)
    try:
        server = parse_server(args.server)
    except SignInError as error:
        print(f"moonlight-console: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.web and importlib.util.find_spec("flet_desktop") is None:
        print(
            "moonlight-console: the native window needs the desktop extra"
            " (pip install 'moonlight-console[desktop]'); or run it in a browser with --web",
            file=sys.stderr,
        )
        return 2
    options = ConsoleOptions(server=server, use_keyring=not args.web)
    if args.web:
        view = None if args.no_browser else ft.AppView.WEB_BROWSER
        print(f"MoonLight console on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
        ft.run(make_main(options), name="", host=args.host, port=args.port, view=view, no_cdn=True)
    else:
        ft.run(make_main(options), view=ft.AppView.FLET_APP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
