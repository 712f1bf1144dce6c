"""Metric snapshots into the ``metrics`` table, on an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.storage.models import Metric, MetricScope
from moonlight.core.storage.repository import MetricSample
from moonlight.core.telemetry.metrics import EngineMetrics
from moonlight.core.telemetry.snapshots import MetricsSnapshotter, sql_writer

START = 1_700_000_000.0


class StepClock:
    """Time moves only when someone sleeps: each sleep jumps straight to its deadline."""

    def __init__(self, start: float) -> None:
        self._now = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep_until(self, when: float) -> None:
        self.sleeps.append(when)
        self._now = max(self._now, when)
        await asyncio.sleep(0)


def _rows(sessions: sessionmaker[Session]) -> list[Metric]:
    with sessions() as session:
        return list(session.scalars(select(Metric).order_by(Metric.id)))


def _trade(metrics: EngineMetrics) -> None:
    metrics.order_settled("acc1", "win", 8.2, instrument="EURUSD", timeframe="1m")
    metrics.order_settled("acc2", "lose", -5.0, instrument="BTCUSD", timeframe="5m")
    metrics.decision_made("1m", 1.2)
    metrics.bar_lag("5m", 300.0)
    metrics.set_workers({"running": 2})


async def test_snapshots_write_rows_for_every_scope(sessions: sessionmaker[Session]) -> None:
    metrics = EngineMetrics(process_metrics=False)
    clock = StepClock(START)
    snapshotter = MetricsSnapshotter(metrics, sql_writer(sessions), interval_s=30, clock=clock)
    _trade(metrics)

    await snapshotter.run(max_snapshots=1)

    rows = _rows(sessions)
    assert {row.ts for row in rows} == {datetime.fromtimestamp(START + 30, UTC)}
    by_key = {(row.name, row.scope, row.scope_key): row.value for row in rows}
    assert by_key[("orders_total", MetricScope.GLOBAL, None)] == 2
    assert by_key[("workers_running", MetricScope.GLOBAL, None)] == 2
    assert by_key[("pnl_day", MetricScope.ACCOUNT, "acc1")] == pytest.approx(8.2)
    assert by_key[("pnl_day", MetricScope.ACCOUNT, "acc2")] == pytest.approx(-5.0)
    assert by_key[("orders_total", MetricScope.PRODUCT, "BTCUSD")] == 1
    assert by_key[("orders_total", MetricScope.TIMEFRAME, "1m")] == 1
    assert by_key[("bar_lag_ms_max", MetricScope.TIMEFRAME, "5m")] == 300.0
    assert ("decision_latency_ms_p99", MetricScope.TIMEFRAME, "1m") in by_key
    assert {row.scope for row in rows} == set(MetricScope)
    assert snapshotter.rows_written == len(rows)


async def test_interval_follows_the_clock_and_unchanged_scoped_rows_are_skipped(
    sessions: sessionmaker[Session],
) -> None:
    metrics = EngineMetrics(process_metrics=False)
    clock = StepClock(START)
    snapshotter = MetricsSnapshotter(metrics, sql_writer(sessions), interval_s=30, clock=clock)
    _trade(metrics)

    await snapshotter.run(max_snapshots=3)

    assert clock.sleeps == [START + 30, START + 60, START + 90]
    rows = _rows(sessions)
    stamps = sorted({row.ts for row in rows})
    assert stamps == [datetime.fromtimestamp(START + s, UTC) for s in (30, 60, 90)]
    per_stamp = {ts: [r for r in rows if r.ts == ts] for ts in stamps}
    # the global heartbeat is written every time; unchanged account rows only once
    for ts in stamps:
        assert any(
            r.name == "orders_total" and r.scope is MetricScope.GLOBAL for r in per_stamp[ts]
        )
    assert not [r for r in per_stamp[stamps[1]] if r.scope is not MetricScope.GLOBAL]
    metrics.order_settled("acc1", "lose", -10.0, instrument="EURUSD", timeframe="1m")
    clock.advance(5)
    await snapshotter.snapshot_once()
    latest = [r for r in _rows(sessions) if r.ts == datetime.fromtimestamp(START + 95, UTC)]
    changed = {(r.name, r.scope_key) for r in latest if r.scope is MetricScope.ACCOUNT}
    assert changed == {("orders_total", "acc1"), ("pnl_day", "acc1")}  # wins_total unchanged


async def test_a_failed_write_is_counted_and_the_next_tick_retries() -> None:
    metrics = EngineMetrics(process_metrics=False)
    metrics.order_settled("acc1", "win", 1.0)
    written: list[Sequence[MetricSample]] = []
    failures = iter([True, False])

    def flaky(samples: Sequence[MetricSample]) -> int:
        if next(failures):
            raise OSError("disk full")
        written.append(samples)
        return len(samples)

    snapshotter = MetricsSnapshotter(metrics, flaky, interval_s=30, clock=StepClock(START))
    await snapshotter.run(max_snapshots=2)
    assert snapshotter.failures == 1
    assert snapshotter.snapshots_written == 1
    # the account rows lost in the failed write are written by the retry
    assert any(s.scope is MetricScope.ACCOUNT for s in written[0])


async def test_start_and_stop_write_a_final_snapshot(sessions: sessionmaker[Session]) -> None:
    metrics = EngineMetrics(process_metrics=False)
    clock = StepClock(START)
    snapshotter = MetricsSnapshotter(metrics, sql_writer(sessions), interval_s=30, clock=clock)
    task = snapshotter.start()
    with pytest.raises(RuntimeError, match="already running"):
        snapshotter.start()
    for _ in range(500):  # bounded wait for two periodic ticks (writes run in a thread)
        if snapshotter.snapshots_written >= 2:
            break
        await asyncio.sleep(0.01)
    await snapshotter.stop()
    assert task.cancelled()
    ticks = snapshotter.snapshots_written
    assert ticks >= 3  # two periodic snapshots or more, plus the final one
    assert len({row.ts for row in _rows(sessions)}) == ticks


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        MetricsSnapshotter(EngineMetrics(process_metrics=False), lambda s: 0, interval_s=0)
