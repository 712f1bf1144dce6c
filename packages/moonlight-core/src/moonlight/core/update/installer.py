"""Build a new virtual environment holding the given distribution versions.

The environment is made from the interpreter running this command (the current
version's), then the pinned distributions are installed into it from the configured
source with pip (run inside the new environment) or uv. Nothing of the running version
is touched: a failed build leaves a folder that is removed, and the service never sees it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from moonlight.core.update.errors import UpdateError
from moonlight.core.update.index import Source

BUILD_TIMEOUT_S = 1800.0


def build_environment(target: Path, pins: dict[str, str], source: Source, installer: str) -> None:
    """Create ``target`` and install ``name==version`` for every pin; UpdateError on failure."""
    if getattr(sys, "frozen", False):
        raise UpdateError(
            "this moonlight is a bundle: prepare the new bundle folder and run"
            " `moonlight update apply --bundle FOLDER`"
        )
    requirements = [f"{name}=={version}" for name, version in sorted(pins.items())]
    origin = (
        ["--no-index", "--find-links", str(source.find_links)]
        if source.find_links is not None
        else ["--index-url", source.index_url]
    )
    python = target / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    try:
        if installer == "uv":
            uv = _uv()
            _run([uv, "venv", "--quiet", "--python", sys.executable, str(target)])
            _run([uv, "pip", "install", "--quiet", "--python", str(python), *origin, *requirements])
        else:
            _run([sys.executable, "-m", "venv", str(target)])
            _run(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 *origin, *requirements]
            )  # fmt: skip
    except UpdateError:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _uv() -> str:
    beside = Path(sys.executable).with_name("uv.exe" if sys.platform == "win32" else "uv")
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if found is None:
        raise UpdateError("update.installer is uv but no uv executable was found")
    return found


def _run(argv: list[str]) -> None:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UpdateError(f"{argv[0]}: {error}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise UpdateError(f"{' '.join(argv[:4])} ... failed: {' | '.join(tail)}")
