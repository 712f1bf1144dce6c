"""``moonlight run`` under a lowered descriptor limit, with an engine-loop lag probe.

The real CLI runs (engine + reference server, the ``moonlight run`` path); two things
are added for the hostile-client tests (``test_hostile_clients.py``):

* ``RLIMIT_NOFILE`` is lowered to ``LIMIT`` first (the finding was ``ulimit -n 1024``);
* a task on the engine's loop measures its lag — how late a 20 ms sleep wakes up — and
  appends one JSON line per half second to ``LAG_FILE``: ``{"t": wall time, "lag_ms":
  the worst lag in that half second, "rss_kb": resident memory}``. A stalled loop shows
  as a large lag; nothing here changes what the engine or the server do.

Usage (Linux, from the repository root):
``python -m tests.security.hostile_child CONFIG SPEED LIMIT LAG_FILE``
"""

from __future__ import annotations

import asyncio
import importlib
import json
import resource
import sys
import time
from pathlib import Path

from moonlight.core.cli import app, loading
from tests.server.support import server_host

run_cmd = importlib.import_module("moonlight.core.cli.run_cmd")

INTERVAL_S = 0.02
REPORT_S = 0.5


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def probe_lag(path: Path) -> None:
    """Append the engine loop's worst lag every REPORT_S (see the module docstring)."""
    worst = 0.0
    reported = time.monotonic()
    with path.open("a", encoding="utf-8") as sink:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(INTERVAL_S)
            worst = max(worst, time.perf_counter() - started - INTERVAL_S)
            if time.monotonic() - reported >= REPORT_S:
                line = {"t": time.time(), "lag_ms": worst * 1e3, "rss_kb": rss_kb()}
                sink.write(json.dumps(line) + "\n")
                sink.flush()
                worst, reported = 0.0, time.monotonic()


def main(config: str, speed: str, limit: str, lag_file: str) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(limit), hard))
    loading.build_plugin_host = server_host  # type: ignore[assignment]
    services = run_cmd.registered_services

    def with_probe(host: object) -> tuple[object, ...]:
        async def probe(_engine: object, _stop: asyncio.Event) -> None:
            await probe_lag(Path(lag_file))

        return (*services(host), probe)

    run_cmd.registered_services = with_probe
    sys.exit(app.cli.main(args=["run", config, "--speed", speed], standalone_mode=True))


if __name__ == "__main__":
    main(*sys.argv[1:5])
