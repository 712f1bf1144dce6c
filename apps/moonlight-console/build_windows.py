"""Build ``dist/moonlight-console.exe`` with ``flet pack`` (PyInstaller) -- on Windows.

    py -m venv .venv-build
    .venv-build\\Scripts\\pip install -e "apps/moonlight-console[desktop,build]"
    .venv-build\\Scripts\\python apps/moonlight-console/build_windows.py [--dry-run]

PyInstaller does not cross-compile, so this refuses to run elsewhere (``--dry-run``
prints the command on any system). The executable opens the native window; it holds
no token or configuration: it signs in like the installed console.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSION = "0.1.0"
HIDDEN_IMPORTS = (
    # keyring finds its backends through entry points, which a frozen app does not scan
    "keyring.backends.Windows",
    "keyring.backends.fail",
)


def pack_command(flet: str = "flet") -> list[str]:
    """The ``flet pack`` command line."""
    command = [
        flet, "pack", str(HERE / "windows_entry.py"),
        "--name", "moonlight-console",
        "--product-name", "MoonLight console",
        "--file-description", "MoonLight operator console",
        "--product-version", VERSION,
        "--file-version", VERSION,
        "--distpath", str(HERE / "dist"),
        "--yes",
    ]  # fmt: skip
    for module in HIDDEN_IMPORTS:
        command += ["--hidden-import", module]
    return command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the command only")
    args = parser.parse_args(argv)
    if args.dry_run:
        print(subprocess.list2cmdline(pack_command()))
        return 0
    if sys.platform != "win32":
        print("build_windows.py builds a Windows executable: run it on Windows"
              " (PyInstaller does not cross-compile); --dry-run shows the command",
              file=sys.stderr)  # fmt: skip
        return 2
    flet = shutil.which("flet")
    if flet is None:
        print('flet is not installed: pip install -e "apps/moonlight-console[desktop,build]"',
              file=sys.stderr)  # fmt: skip
        return 2
    return subprocess.call(pack_command(flet), cwd=HERE)


if __name__ == "__main__":
    sys.exit(main())
