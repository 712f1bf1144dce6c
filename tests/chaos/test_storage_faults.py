"""Storage faults under the whole engine: a full disk and a concurrent writer holding
SQLite's write lock, while three accounts trade.

* **disk full (injected)** — SQLite's own "database or disk is full" error is raised at
  the driver for every write on the engine's database while a switch is on (the path
  above the driver — SQLAlchemy, classification, executor, risk, alarms — is the
  production one). The real filesystem version is in ``test_disk_full_tmpfs.py``.
* **lock contention** — a separate process takes SQLite's write lock (``BEGIN
  IMMEDIATE``) over and over, holding it shorter than the busy timeout (absorbed:
  nothing may fail) or longer (writes fail as ``locked``: trading halts with a critical
  alarm, and nothing is lost).

Invariants: nothing is ever placed at a broker without its order stored (no orphan),
no duplicate, every result recorded once storage is back, the storage alarm emitted.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from moonlight.core.plugins import PluginHost
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from tests.chaos.support import (
    START,
    drain,
    mocks,
    record_figures,
    start_engine,
    stored_alarm_codes,
    verdict,
    write_config,
)

_WRITES = ("INSERT", "UPDATE", "DELETE")


class DiskFull:
    """Every write on the engine's database fails like a full disk while ``on``."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.failed_writes = 0
        event.listen(engine.storage, "before_cursor_execute", self._check)

    def _check(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on and statement.lstrip().upper().startswith(_WRITES):
            self.failed_writes += 1
            raise sqlite3.OperationalError("database or disk is full")


def alarm_collector(engine: Engine) -> list[tuple[str, str]]:
    """(level, code) of every alarm the engine emits from now on (stored or not)."""
    seen: list[tuple[str, str]] = []
    engine.alarms.subscribe(lambda alarm: seen.append((str(alarm.level), alarm.code)))
    return seen


async def test_disk_full_halts_trading_and_loses_nothing(tmp_path: Path, host: PluginHost) -> None:
    clock = FastForwardClock(START)
    engine = await start_engine(write_config(tmp_path), host, clock)
    alarms = alarm_collector(engine)
    disk = DiskFull(engine)
    try:
        await clock.sleep_until(START + 5 * 60 + 20)  # 1-minute orders are in flight
        full_at = clock.now()
        disk.on = True
        await clock.sleep_until(full_at + 3 * 60)
        halted = {a: r.executor.halted_reason for a, r in engine.accounts.items()}
        placed_while_full = [
            c for b in mocks(engine).values() for c in b.all_orders() if c.accepted_ts > full_at
        ]
        disk.on = False
        freed_at = clock.now()
        await clock.sleep_until(freed_at + 60)
        still_halted = [a for a, r in engine.accounts.items() if not r.executor.trading_allowed]
        for runtime in engine.accounts.values():  # the operator resumes trading
            if not runtime.executor.trading_allowed:
                runtime.executor.resume_trading()
        await clock.sleep_until(clock.now() + 2 * 60)
        resumed = [
            c for b in mocks(engine).values() for c in b.all_orders() if c.accepted_ts > freed_at
        ]
        await drain(engine)
        found = verdict(engine.sessions, mocks(engine))
        record_figures(
            "disk full (injected SQLite error)",
            orders=found.orders,
            failed_writes=disk.failed_writes,
            placed_while_full=len(placed_while_full),
            duplicates=found.duplicates,
            lost_results=found.lost_results,
            failed_orders=found.failed,
            halted=halted,
        )
        found.assert_clean()
        # trading stopped on every account, with the reason, and no order went out
        assert all(r and "storage unavailable (disk_full)" in r for r in halted.values()), halted
        assert placed_while_full == []
        assert disk.failed_writes > 0
        assert ("critical", "storage_unavailable") in alarms
        assert "storage_unavailable" in stored_alarm_codes(engine.sessions)  # stored later
        # it stays halted until an operator resumes it; then trading goes on
        assert sorted(still_halted) == sorted(engine.accounts)
        assert resumed
        assert sum(engine.supervisor.failures.values()) == 0
    finally:
        disk.on = False
        await engine.stop("test finished")


async def test_a_halt_on_a_failed_order_insert_can_be_resumed_once_storage_is_back(
    tmp_path: Path, host: PluginHost
) -> None:
    clock = FastForwardClock(START)
    engine = await start_engine(write_config(tmp_path, accounts=1), host, clock)
    disk = DiskFull(engine)
    try:
        await clock.sleep_until(START + 5 * 60 + 20)
        await drain(engine)  # nothing in flight any more
        engine.supervisor.resume(list(engine.supervisor.workers))
        disk.on = True  # the next decision's INSERT fails
        await clock.sleep_until(clock.now() + 60)
        executor = engine.accounts["acc1"].executor
        assert executor.halted_reason == "storage unavailable (disk_full)"
        disk.on = False
        await clock.sleep_until(clock.now() + 60)
        executor.resume_trading()
        await clock.sleep_until(clock.now() + 60)
        assert executor.trading_allowed
    finally:
        disk.on = False
        await engine.stop("test finished")


WRITER = """
import sqlite3, sys, time
path, ready = sys.argv[1], sys.argv[5]
hold_s, gap_s, cycles = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
db = sqlite3.connect(path, timeout=30, isolation_level=None)
open(ready, "w").close()
for _ in range(cycles):
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE engine_state SET updated_by = updated_by WHERE 0")
    time.sleep(hold_s)
    db.execute("COMMIT")
    time.sleep(gap_s)
"""


async def contended_run(
    tmp_path: Path,
    host: PluginHost,
    *,
    busy_timeout_ms: int,
    hold_s: float,
    gap_s: float,
    cycles: int,
) -> tuple[Engine, list[tuple[str, str]], dict[str, str | None], float]:
    """Trade while a writer process holds the write lock; returns what was observed."""
    path = write_config(tmp_path, storage={"busy_timeout_ms": busy_timeout_ms})
    clock = FastForwardClock(START)
    engine = await start_engine(path, host, clock)
    alarms = alarm_collector(engine)
    await clock.sleep_until(START + 2 * 60)
    ready = tmp_path / "writer-ready"
    database = engine.config.data_dir / "moonlight.db"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRITER,
            str(database),
            str(hold_s),
            str(gap_s),
            str(cycles),
            str(ready),
        ],
    )
    halted: dict[str, str | None] = {}
    started = time.monotonic()
    try:
        while not ready.exists():
            assert writer.poll() is None and time.monotonic() - started < 30
            time.sleep(0.01)
        # keep trading (simulated) for as long as the writer runs (real time), bounded
        while writer.poll() is None:
            assert time.monotonic() - started < 120, "the writer never finished"
            await clock.sleep_until(clock.now() + 5)
            for account, runtime in engine.accounts.items():
                halted.setdefault(account, runtime.executor.halted_reason)
                if runtime.executor.halted_reason:
                    halted[account] = runtime.executor.halted_reason
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait(30)
    assert writer.returncode == 0
    return engine, alarms, halted, time.monotonic() - started


async def test_short_lock_holds_are_absorbed_by_the_busy_timeout(
    tmp_path: Path, host: PluginHost
) -> None:
    engine, alarms, halted, wall_s = await contended_run(
        tmp_path, host, busy_timeout_ms=3000, hold_s=0.05, gap_s=0.02, cycles=60
    )
    try:
        await drain(engine)
        found = verdict(engine.sessions, mocks(engine))
        record_figures(
            "SQLite lock held 50 ms by another process (busy timeout 3 s)",
            orders=found.orders,
            lock_holds=60,
            duplicates=found.duplicates,
            lost_results=found.lost_results,
            wall_s=round(wall_s, 1),
        )
        found.assert_clean()
        assert not any(halted.values()), halted
        assert ("critical", "storage_unavailable") not in alarms
        assert found.orders > 50
    finally:
        await engine.stop("test finished")


async def test_lock_held_past_the_busy_timeout_halts_then_recovers(
    tmp_path: Path, host: PluginHost
) -> None:
    engine, alarms, halted, wall_s = await contended_run(
        tmp_path, host, busy_timeout_ms=100, hold_s=0.6, gap_s=0.15, cycles=6
    )
    try:
        for runtime in engine.accounts.values():
            if not runtime.executor.trading_allowed:
                runtime.executor.resume_trading()
        await engine.clock.sleep_until(engine.clock.now() + 2 * 60)
        await drain(engine)
        found = verdict(engine.sessions, mocks(engine))
        record_figures(
            "SQLite lock held 600 ms by another process (busy timeout 100 ms)",
            orders=found.orders,
            lock_holds=6,
            duplicates=found.duplicates,
            lost_results=found.lost_results,
            halted=halted,
            wall_s=round(wall_s, 1),
        )
        found.assert_clean()
        assert any(r and "locked" in r for r in halted.values()), halted
        assert ("critical", "storage_unavailable") in alarms
        assert sum(engine.supervisor.failures.values()) == 0
    finally:
        await engine.stop("test finished")
