"""Set up MoonLight's development environment and run the main job or the tests.

    python3 dev.py run    # paper trading on the embedded SQLite default
    python3 dev.py test   # the whole test suite

Needs only Python >= 3.11 with pip and venv. It creates ``.venv``, installs a pinned uv
into it, syncs every workspace package from ``uv.lock`` (editable), then runs the job.
Extra arguments after the command are passed on (to ``moonlight run`` or ``pytest``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
UV_VERSION = "0.9.7"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, env=env)


def setup() -> None:
    """Create .venv and install the locked workspace into it (idempotent, quick if done)."""
    if sys.version_info < (3, 11):  # noqa: UP036 -- dev.py may run on any python3
        sys.exit(f"MoonLight needs Python >= 3.11, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    uv = BIN / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        _run(PYTHON, "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}")
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(VENV), UV_PYTHON_DOWNLOADS="never")
    # --inexact keeps pip in the venv (tests pip-install the example plugin package).
    _run(uv, "sync", "--frozen", "--all-packages", "--inexact", env=env)


def _call(*args: str | Path) -> int:
    """Run a command to its end and return its exit code.

    Ctrl+C reaches the whole console process group: the child (the engine, pytest)
    handles it and shuts down in its own time. This process only waits for that --
    without a traceback of its own, and without killing the child mid-shutdown as
    ``subprocess.call`` would after a quarter of a second.
    """
    with subprocess.Popen([str(a) for a in args], cwd=ROOT) as child:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "setup"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    setup()
    if command == "setup":
        return 0
    if command == "test":
        # Both cores by default; pass -n 0 (or any -n) to choose.
        parallel = [] if any(a == "-n" or a.startswith("-n") for a in rest) else ["-n", "2"]
        return _call(PYTHON, "-m", "pytest", *parallel, *rest)
    moonlight = BIN / ("moonlight.exe" if os.name == "nt" else "moonlight")
    return _call(moonlight, "run", *(rest or ["configs/config.yaml"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
