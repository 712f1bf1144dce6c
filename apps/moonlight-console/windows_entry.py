"""Entry script of the Windows executable built by ``build_windows.py`` (``flet pack``)."""

import sys

from moonlight.console.cli import main

if __name__ == "__main__":
    sys.exit(main())
