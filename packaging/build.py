"""Build the one-folder MoonLight bundle: ``python packaging/build.py [--dist D] [--work W]``.

One place that runs PyInstaller on ``packaging/moonlight.spec`` for both ``nox -s
bundle`` and the bundle test (tests/packaging), so what CI tests is what the session
builds. Run it with the workspace's Python (``.venv``): the bundle freezes the
environment it runs in. Prints the build's wall time and the bundle's size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE / "moonlight.spec"


def executable(bundle: Path) -> Path:
    """The ``moonlight`` program inside a built bundle folder."""
    return bundle / ("moonlight.exe" if sys.platform == "win32" else "moonlight")


def build(dist: Path, work: Path) -> Path:
    """Run PyInstaller; return the bundle folder (``dist/moonlight``)."""
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work), str(SPEC)],
        check=True,
    )  # fmt: skip
    return dist / "moonlight"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=HERE.parent / "dist")
    parser.add_argument("--work", type=Path, default=HERE.parent / "build" / "pyinstaller")
    args = parser.parse_args()
    started = time.monotonic()
    bundle = build(args.dist, args.work)
    size = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file())
    print(
        f"bundle {bundle}: {size / 2**20:.0f} MiB, built in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
