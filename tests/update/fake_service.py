"""A stand-in for systemd/NSSM in the update tests: ``start`` and ``stop`` a service.

``python fake_service.py start ROOT CONFIG STATE`` starts ``ROOT/current/bin/moonlight
run CONFIG`` detached (its own session, output appended to ``STATE/engine.log``) and
returns at once, as ``systemctl start`` does; ``stop STATE`` sends SIGTERM -- the
engine's graceful stop -- and returns once the process is gone (SIGKILL after 120 s,
like ``TimeoutStopSec``). POSIX only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STOP_TIMEOUT_S = 120.0


def start(root: Path, config: Path, state: Path) -> int:
    state.mkdir(parents=True, exist_ok=True)
    with (state / "engine.log").open("ab") as sink:
        process = subprocess.Popen(
            [str(root / "current" / "bin" / "moonlight"), "run", str(config)],
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    (state / "pid").write_text(str(process.pid), encoding="ascii")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its new parent) counts as gone
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def stop(state: Path) -> int:
    pid_file = state / "pid"
    if not pid_file.exists():
        return 0
    pid = int(pid_file.read_text(encoding="ascii"))
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink()
    return 0


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "start":
        sys.exit(start(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])))
    sys.exit(stop(Path(sys.argv[2])))
