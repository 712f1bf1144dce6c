"""Soak: 120 workers (4 accounts × 10 products × 3 timeframes) trading on paper over an
accelerated stretch of simulated time, with memory, file descriptors and asyncio tasks
sampled as it runs.

CI runs a short stretch (``MOONLIGHT_SOAK_HOURS``, default 2 simulated hours, about a
minute of wall time on 2 cores); ``nox -s soak`` runs a simulated week
(``MOONLIGHT_SOAK_HOURS=168``). Bounds, after a warm-up of a quarter of the run (numba
caches, SQLite page cache, metric label sets and the order book fill up first):

* resident memory: total growth below :data:`RSS_GROWTH_MB` MB, and — for runs of a
  simulated day or more, where one-off steps (an allocator arena, a cache filling) no
  longer dominate — a least-squares slope below :data:`RSS_SLOPE_MB_PER_H` MB per
  simulated hour (a leak at that rate would cost 170 MB a week);
* open file descriptors (POSIX): no growth beyond :data:`FD_GROWTH`;
* asyncio tasks: no growth beyond :data:`TASK_GROWTH` (orders in flight come and go);
* the JSON log holds no ERROR or CRITICAL record, and every worker is still running.

``MOONLIGHT_SOAK_REPORT`` names a JSON file that receives the samples and the figures.

The simulated market keeps only its most recently used blocks of ticks
(test_market_memory.py), so a paper engine's memory no longer grows with uptime by the
~2.4 MB per simulated hour it used to.
Run the long soak with ``--timeout=0``: pytest-timeout cannot stop a fast-forward run
and its alarm lands inside an engine task as a logged error instead.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from moonlight.core.config import load_config
from moonlight.core.orders import OrderState
from moonlight.core.plugins import build_plugin_host
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.storage import models
from moonlight.core.telemetry.logging_setup import configure_from_config, teardown_logging

pytestmark = pytest.mark.slow

START = 1_767_600_000.0  # Monday 2026-01-05 08:00 UTC
HOURS = float(os.environ.get("MOONLIGHT_SOAK_HOURS", "2"))
SAMPLE_EVERY_S = 300.0 if HOURS <= 24 else 1800.0
RSS_SLOPE_MB_PER_H = 1.0
RSS_GROWTH_MB = 40.0
SLOPE_MIN_HOURS = 24.0
FD_GROWTH = 4
TASK_GROWTH = 200


@dataclass
class Sample:
    sim_h: float
    wall_s: float
    rss_mb: float
    fds: int | None
    tasks: int
    orders: int


def rss_mb() -> float:
    """Resident set size from /proc (Linux); elsewhere the memory Python has traced."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return tracemalloc.get_traced_memory()[0] / 2**20


def open_fds() -> int | None:
    fd_dir = Path("/proc/self/fd")
    if sys.platform == "win32" or not fd_dir.exists():
        return None
    return len(os.listdir(fd_dir))


def slope_per_h(samples: list[Sample]) -> float:
    """Least-squares slope of RSS (MB) against simulated hours."""
    xs = [s.sim_h for s in samples]
    ys = [s.rss_mb for s in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def soak_config(tmp_path: Path) -> Path:
    symbols = [f"SIM{i:03d}" for i in range(10)]
    market = {
        "seed": 11,
        "payout_pct": 85.0,
        "durations_s": [60, 300, 900],
        "instruments": [
            {"symbol": s, "start_price": 100.0 + i, "daily_vol": 0.01}
            for i, s in enumerate(symbols)
        ],
    }
    data = {
        "data_dir": str(tmp_path / "data"),
        "accounts": [
            {
                "id": f"soak{a}",
                "connector": "paper",
                "mode": "paper",
                "products": symbols,
                "timeframes": ["1m", "5m", "15m"],
                "max_stake": 10.0,
                "connector_options": {"starting_balance": 1e7, "market": market},
            }
            for a in range(4)
        ],
        "strategies": [
            {"name": "ema_rsi"},
            {"name": "supertrend_adx"},
            {"name": "bollinger_reversion"},
        ],
        # exploration prior throughout (no walk-forward fit takes over on the random
        # walk), so orders keep flowing for the whole soak
        "ensemble": {
            "paper_prior": {"a": -2.5},
            "calibration": {"min_samples": 1_000_000, "window": 1_000_000},
        },
        "risk": {
            "margin": 0.0,
            "sizing": {"policy": "fixed", "params": {"stake_amount": 1}},
            "guards": [
                {"name": "kill_switch"},
                {
                    "name": "max_open_orders",
                    "params": {"max_open_per_account": 10_000, "max_open_per_instrument": 10},
                },
                {"name": "circuit_breaker"},
            ],
        },
        "runtime": {"connector_rate_per_s": 100_000, "connector_burst": 10_000},
        "telemetry": {"log_level": "WARNING", "metrics_snapshot_s": 300},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def order_count(engine: Engine) -> int:
    with engine.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(models.Order)) or 0)


async def test_soak_120_workers(tmp_path: Path) -> None:
    if not Path("/proc/self/status").exists():
        tracemalloc.start()
    host = build_plugin_host()
    config = load_config(soak_config(tmp_path), registry=host.registry)
    setup = configure_from_config(config, console=False)
    clock = FastForwardClock(START)
    engine = Engine.create(config, host, clock=clock, snapshots=True)
    samples: list[Sample] = []
    wall_start = time.perf_counter()
    try:
        await engine.start()
        assert len(engine.supervisor.workers) == 120
        end = START + HOURS * 3600.0
        while clock.now() < end:
            await clock.sleep_until(min(end, clock.now() + SAMPLE_EVERY_S))
            gc.collect()
            samples.append(
                Sample(
                    sim_h=(clock.now() - START) / 3600.0,
                    wall_s=time.perf_counter() - wall_start,
                    rss_mb=rss_mb(),
                    fds=open_fds(),
                    tasks=len(asyncio.all_tasks()),
                    orders=order_count(engine),
                )
            )
        states = engine.supervisor.states()
        failures = sum(engine.supervisor.failures.values())
        with engine.sessions() as session:
            by_state = dict(
                session.execute(
                    select(models.Order.state, func.count()).group_by(models.Order.state)
                ).all()
            )
    finally:
        await engine.stop("soak finished")
        teardown_logging()

    steady = samples[len(samples) // 4 :]
    records = [json.loads(line) for line in setup.log_path.read_text(encoding="utf-8").splitlines()]
    errors = [r for r in records if r["level"] in ("ERROR", "CRITICAL")]
    fds = [s.fds for s in steady if s.fds is not None]
    figures: dict[str, Any] = {
        "simulated_hours": HOURS,
        "wall_s": round(time.perf_counter() - wall_start, 1),
        "orders": samples[-1].orders,
        "settled": by_state.get(OrderState.SETTLED, 0),
        "rss_start_mb": round(steady[0].rss_mb, 1),
        "rss_end_mb": round(steady[-1].rss_mb, 1),
        "rss_slope_mb_per_h": round(slope_per_h(steady), 3),
        "fd_range": [min(fds), max(fds)] if fds else None,
        "task_range": [min(s.tasks for s in steady), max(s.tasks for s in steady)],
        "warnings": sum(r["level"] == "WARN" for r in records),
        "errors": len(errors),
        "worker_failures": failures,
    }
    report = os.environ.get("MOONLIGHT_SOAK_REPORT")
    if report:
        Path(report).write_text(
            json.dumps({"figures": figures, "samples": [asdict(s) for s in samples]}, indent=1),
            encoding="utf-8",
        )
    assert len(steady) >= 3, figures
    assert errors == [], errors[:5]
    assert states == {"running": 120}, states
    assert failures == 0
    assert figures["orders"] > 100 * HOURS, figures
    if HOURS >= SLOPE_MIN_HOURS:
        assert figures["rss_slope_mb_per_h"] < RSS_SLOPE_MB_PER_H, figures
    assert steady[-1].rss_mb - steady[0].rss_mb < RSS_GROWTH_MB, figures
    if fds:
        assert max(fds) - min(fds) <= FD_GROWTH, figures
    tasks = [s.tasks for s in steady]
    assert max(tasks) - min(tasks) <= TASK_GROWTH, figures
