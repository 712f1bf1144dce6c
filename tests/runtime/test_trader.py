"""The account trader on its own: a real executor, SQLite journal and mock broker, the
real risk chain (open-order slots, daily-loss cap) and metrics — no engine around it.

What issue 14 found broken: a refused submit (duplicate after a restart, a storage halt)
surfaced inside a task as "Task exception was never retrieved" and kept its guard slot
for ever; results settled by reconciliation never reached the daily-loss cap or
``pnl_day``; ``order_latency_ms`` was never observed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import event, func, select

from moonlight.core.config.models import AccountConfig, RiskConfig
from moonlight.core.connectors.contract import Candle
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.plugins import PluginHost, build_plugin_host
from moonlight.core.risk.builder import build_risk_manager
from moonlight.core.risk.guards.daily_loss_cap import DailyLossCap
from moonlight.core.risk.guards.max_open_orders import MaxOpenOrders
from moonlight.core.risk.state_store import MemoryGuardStateStore
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.daily_pnl import stored_day_pnl
from moonlight.core.runtime.instruments import InstrumentBook
from moonlight.core.runtime.trader import AccountTrader
from moonlight.core.runtime.worker_key import WorkerKey
from moonlight.core.storage.models import Order, Result
from moonlight.core.strategy.api import Signal, SignalDirection
from moonlight.core.strategy.host import StrategyGroup
from moonlight.core.telemetry.metrics import EngineMetrics
from tests.execution.support import START_TS, Harness, fast_config, make_harness

ACCOUNT = "acc-1"
KEY = WorkerKey(ACCOUNT, "EURUSD", "1m")
UP = [Signal(SignalDirection.UP, 1.0, "test")]


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return build_plugin_host()


@dataclass
class Desk:
    """One account's trader over a harness (one "run" of the engine)."""

    harness: Harness
    trader: AccountTrader
    metrics: EngineMetrics

    @property
    def slots(self) -> MaxOpenOrders:
        return cast(MaxOpenOrders, self.trader.risk.guard("max_open_orders"))

    @property
    def cap(self) -> DailyLossCap:
        return cast(DailyLossCap, self.trader.risk.guard("daily_loss_cap"))

    async def decide(self, close_ts: float) -> Any:
        bar = Candle("EURUSD", 60, close_ts - 60, 1.1, 1.1, 1.1, 1.1, 0.0)
        group = cast(StrategyGroup, SimpleNamespace(feed=SimpleNamespace(values={})))
        await self.trader.prepare()
        return self.trader.decide(KEY, bar, UP, group, close_ts)

    def stored(self) -> tuple[int, float]:
        """(non-terminal orders, sum of stored results) from storage."""
        with self.harness.sessions() as session:
            open_count = session.scalar(
                select(func.count()).where(Order.state.in_(["IDLE", "PREPARE", "SEND", "CONFIRM"]))
            )
            total = session.scalar(select(func.coalesce(func.sum(Result.pnl), 0)))
        return int(open_count or 0), float(total or 0)


async def open_desk(
    tmp_path: Path,
    host: PluginHost,
    clock: FastForwardClock,
    store: MemoryGuardStateStore,
    *,
    max_open: int = 5,
) -> Desk:
    harness = await make_harness(
        tmp_path / "orders.db", clock=clock, config=fast_config(), start=False
    )
    risk_config = RiskConfig.model_validate(
        {
            "threshold": 0.5,
            "margin": 0.0,
            "sizing": {"policy": "fixed", "params": {"stake_amount": 1.0}},
            "guards": [
                {"name": "max_open_orders", "params": {"max_open_per_instrument": max_open}},
                {"name": "daily_loss_cap", "params": {"daily_loss_cap_amount": 1000.0}},
            ],
        }
    )
    risk = build_risk_manager(
        risk_config,
        host.registry,
        store=store,
        now=lambda: datetime.fromtimestamp(clock.now(), UTC),
    )
    metrics = EngineMetrics(process_metrics=False)
    account = AccountConfig.model_validate(
        {"id": ACCOUNT, "connector": "mock", "products": ["EURUSD"], "timeframes": ["1m"]}
    )
    trader = AccountTrader(
        account,
        executor=harness.executor,
        instruments=InstrumentBook(harness.mock, clock),
        risk=risk,
        metrics=metrics,
        clock=clock,
        strategy_names=["test"],
        weights=[1.0],
        prior=Calibration(-3.0, 0.0, fitted=False),
    )
    harness.executor.report_to(trader)
    trader.restate_day(
        stored_day_pnl(harness.sessions, ACCOUNT, now_ts=clock.now(), tz=ZoneInfo("UTC"))
    )
    await harness.executor.start([ACCOUNT])
    await trader.refresh_balance()
    return Desk(harness, trader, metrics)


async def settle_all(desk: Desk) -> None:
    """Let simulated time run until every order the executor drives has ended."""
    await asyncio.wait_for(desk.harness.executor.wait_idle(), timeout=120)
    await asyncio.sleep(0)  # the submit tasks' done callbacks


def bar_close(index: int) -> float:
    return START_TS - START_TS % 60 + 60 * (index + 1)


@pytest.fixture
def clock() -> FastForwardClock:
    return FastForwardClock(START_TS)


async def test_a_replayed_decision_is_refused_and_frees_its_slot(
    tmp_path: Path, host: PluginHost, clock: FastForwardClock
) -> None:
    desk = await open_desk(tmp_path, host, clock, MemoryGuardStateStore())
    try:
        close_ts = bar_close(0)
        assert await desk.decide(close_ts) is not None
        await settle_all(desk)
        assert await desk.decide(close_ts) is None  # same decision id: storage refuses it
        await asyncio.sleep(0)
        assert desk.slots.open_orders(ACCOUNT) == 0
        assert desk.trader.risk.trading_state(ACCOUNT).state.value == "ACTIVE"
    finally:
        await desk.harness.close()


async def test_a_storage_halt_on_the_first_insert_frees_its_slot(
    tmp_path: Path, host: PluginHost, clock: FastForwardClock
) -> None:
    desk = await open_desk(tmp_path, host, clock, MemoryGuardStateStore())
    full = {"on": True}

    def disk_full(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if full["on"] and statement.lstrip().upper().startswith("INSERT"):
            raise sqlite3.OperationalError("database or disk is full")

    event.listen(desk.harness.engine, "before_cursor_execute", disk_full)
    try:
        assert await desk.decide(bar_close(0)) is None
        assert desk.slots.open_orders(ACCOUNT) == 0
        assert not desk.harness.executor.trading_allowed
        full["on"] = False
        desk.harness.executor.resume_trading()  # storage is back: an operator resumes
        assert await desk.decide(bar_close(1)) is not None
        await settle_all(desk)
        assert desk.slots.open_orders(ACCOUNT) == 0
    finally:
        full["on"] = False
        await desk.harness.close()


async def test_a_restart_keeps_one_truth_for_the_day(
    tmp_path: Path, host: PluginHost, clock: FastForwardClock
) -> None:
    """Orders in flight at a restart settle during reconciliation: the daily-loss cap,
    ``pnl_day`` and the stored results agree, and no slot is left behind."""
    store = MemoryGuardStateStore()
    first = await open_desk(tmp_path, host, clock, store)
    for index in range(3):
        assert await first.decide(bar_close(index)) is not None
        await clock.sleep_until(bar_close(index) + 1)
    await settle_all(first)  # three results stored in the first run
    for index in range(3, 6):
        assert await first.decide(bar_close(index)) is not None
    await first.harness.executor.stop()  # restart with three orders in flight
    first.harness.journal.close()
    await clock.sleep_until(clock.now() + 200)  # they expire and settle at the broker
    second = await open_desk(tmp_path, host, clock, store)
    try:
        await settle_all(second)
        open_count, stored_total = second.stored()
        assert open_count == 0
        assert second.slots.open_orders(ACCOUNT) == 0
        assert second.cap.pnl_today(ACCOUNT) == pytest.approx(stored_total, abs=1e-9)
        pnl_day = second.metrics.value("pnl_day", {"account": ACCOUNT})
        assert pnl_day == pytest.approx(stored_total, abs=1e-9)
    finally:
        await second.harness.close()
        await first.harness.mock.close()


async def test_order_latency_is_observed_for_each_result(
    tmp_path: Path, host: PluginHost, clock: FastForwardClock
) -> None:
    desk = await open_desk(tmp_path, host, clock, MemoryGuardStateStore())
    try:
        assert await desk.decide(bar_close(0)) is not None
        await settle_all(desk)
        for stage in ("total", "decision_to_send", "send_to_ack"):
            assert desk.metrics.value("order_latency_ms_count", {"stage": stage}) == 1.0
    finally:
        await desk.harness.close()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=8))
def test_slots_match_storage_whatever_decisions_repeat(
    tmp_path: Path, host: PluginHost, closes: list[int]
) -> None:
    """Any sequence of decisions, repeats included: once everything settled, the guard
    counts exactly the non-terminal orders in storage (none)."""

    async def run() -> None:
        clock = FastForwardClock(START_TS)
        path = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
        path.mkdir()
        desk = await open_desk(path, host, clock, MemoryGuardStateStore(), max_open=10)
        try:
            for index in closes:
                await desk.decide(bar_close(index))
            await settle_all(desk)
            await asyncio.sleep(0)
            assert desk.slots.open_orders(ACCOUNT) == desk.stored()[0] == 0
        finally:
            await desk.harness.close()

    asyncio.run(run())
