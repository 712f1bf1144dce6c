"""GET /api/v1/status latency with 120 workers trading (issue target: p90 < 5 ms).

The real engine trades paper for 5 accounts × 4 instruments × 6 timeframes (15 s to
15 min) = 120 workers on a simulated clock, with the real uvicorn on 127.0.0.1 on its own
thread and loop, the status snapshot taken on the engine's loop through
``EngineControl`` — the way ``moonlight run`` serves it. A separate client process
(httpx, keep-alive, no proxy) sends one request every 10 ms for 30 s and measures each
request's wall time over loopback (the client never competes with the server for the
GIL; paced requests sample the engine's bar-close bursts in proportion to their length).

Two clock speeds: 1× (the simulated clock at real-time cadence: what an operator's
engine does; the issue's target is asserted here) and 10× (a stress run: every bar
closes ten times as often, so the loop is busy ten times as much; reported, and held to
a looser bound).

Run: ``python -m pytest benchmarks/test_server_bench.py -m bench --benchmark-enable -s``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from moonlight.core.storage import models
from tests.server.support import LiveServer, load, server_host, write_config

pytestmark = pytest.mark.bench

P90_TARGET_MS = 5.0
ACCOUNTS = 5
TIMEFRAMES = ["15s", "30s", "1m", "2m", "5m", "15m"]
DURATION_S = 30.0
INTERVAL_S = 0.002
WARMUP_REQUESTS = 200
STRESS_P90_BOUND_MS = 25.0

CLIENT = """
import json, sys, time
import httpx
base, token = sys.argv[1], sys.argv[2]
duration_s, interval_s, warm = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
headers = {"Authorization": "Bearer " + token}
with httpx.Client(base_url=base, headers=headers, trust_env=False, timeout=10) as client:
    for _ in range(warm):
        client.get("/api/v1/status").raise_for_status()
    times = []
    start = time.perf_counter()
    slot = start
    while slot - start < duration_s:
        now = time.perf_counter()
        if now < slot:
            time.sleep(slot - now)
        started = time.perf_counter()
        response = client.get("/api/v1/status")
        times.append((time.perf_counter() - started) * 1e3)
        response.raise_for_status()
        slot = max(slot + interval_s, time.perf_counter())
print(json.dumps(times))
"""


def accounts() -> list[dict[str, Any]]:
    return [
        {
            "id": f"paper-{index}",
            "connector": "paper",
            "mode": "paper",
            "products": ["EURUSD", "GBPUSD", "USDJPY", "BTCUSD"],
            "timeframes": TIMEFRAMES,
            "max_stake": 25.0,
            "connector_options": {"market": {"seed": index, "payout_pct": 85.0}},
        }
        for index in range(ACCOUNTS)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def orders(live: LiveServer) -> int:
    assert live.engine is not None
    with live.engine.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(models.Order)) or 0)


@pytest.mark.parametrize("speed", [1.0, 10.0])
def test_status_p90_with_120_trading_workers(tmp_path: Path, benchmark: Any, speed: float) -> None:
    host = server_host()
    path = write_config(tmp_path, accounts=accounts(), drop_guards=("consecutive_losses",))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["runtime"]["connector_rate_per_s"] = 1000  # paper accounts share no real broker
    data["runtime"]["connector_burst"] = 1000
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    config = load(path, host)
    with LiveServer(config, host, speed=speed) as live:
        assert live.engine is not None
        assert len(live.engine.supervisor.workers) == 120
        before = orders(live)
        decisions_before = sum(w.decisions for w in live.engine.supervisor.workers.values())

        def measure() -> list[float]:
            done = subprocess.run(
                [sys.executable, "-c", CLIENT, live.base_url, live.token,
                 str(DURATION_S), str(INTERVAL_S), str(WARMUP_REQUESTS)],
                capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            return list(json.loads(done.stdout))

        times_ms = benchmark.pedantic(measure, rounds=1, iterations=1)
        decisions = sum(w.decisions for w in live.engine.supervisor.workers.values())
        made = orders(live) - before
        running = live.engine.supervisor.states().get("running", 0)
    p50, p90, p99 = (percentile(times_ms, q) for q in (0.5, 0.9, 0.99))
    load_1m = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    benchmark.extra_info.update(
        {
            "speed": speed,
            "requests": len(times_ms),
            "p50_ms": round(p50, 3),
            "p90_ms": round(p90, 3),
            "p99_ms": round(p99, 3),
            "max_ms": round(max(times_ms), 3),
            "workers_running": running,
            "decisions_during_run": decisions - decisions_before,
            "orders_during_run": made,
            "load_average_1m": load_1m,
            "cpus": os.cpu_count(),
        }
    )
    print(
        f"\nGET /api/v1/status with 120 workers trading ({speed:g}x simulated clock):"
        f" n={len(times_ms)} p50={p50:.3f} ms p90={p90:.3f} ms p99={p99:.3f} ms"
        f" max={max(times_ms):.1f} ms; {decisions - decisions_before} decisions and"
        f" {made} orders during the measurement; load average {load_1m:.1f} on"
        f" {os.cpu_count()} CPUs"
    )
    assert running == 120
    assert decisions - decisions_before > 0 and made > 0  # the engine really traded meanwhile
    assert p90 < (P90_TARGET_MS if speed == 1 else STRESS_P90_BOUND_MS)
