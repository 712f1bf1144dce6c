"""The worker on its own: a mock market on a fast-forward clock, the real strategies and
indicators, and a trader double that records what the worker hands it. A fresh bar is
decided once; missed bars are replayed into the indicators but never traded; a bar that
arrives too late is not traded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from moonlight.core.config.models import StrategyConfig
from moonlight.core.connectors.mock import MockConnector
from moonlight.core.plugins import PluginHost, build_plugin_host
from moonlight.core.runtime.clock import FastForwardClock, next_bar_close
from moonlight.core.runtime.trader import AccountTrader
from moonlight.core.runtime.worker import Worker, WorkerTiming
from moonlight.core.runtime.worker_key import WorkerKey
from moonlight.core.strategy.factory import build_strategies
from moonlight.core.strategy.host import StrategyGroup
from moonlight.core.strategy.indicators import RegistryIndicatorSource

START = 1_767_600_000.0


@dataclass
class TraderDouble:
    """Records the worker's calls (the trader's own behaviour is tested elsewhere)."""

    decided: list[float] = field(default_factory=list)
    missing: list[float] = field(default_factory=list)

    async def prepare(self) -> None:
        return None

    def decide(self, key: WorkerKey, bar: Any, signals: Any, group: Any, close_ts: float) -> None:
        assert bar.end_ts == close_ts
        self.decided.append(close_ts)

    def bar_missing(self, key: WorkerKey, close_ts: float) -> None:
        self.missing.append(close_ts)

    def bar_lag(self, key: WorkerKey, lag_s: float) -> None:
        return None

    def connector_failed(self, error: BaseException) -> None:
        return None

    def risk_connector_error(self, *args: Any) -> None:
        return None

    def risk_connector_ok(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return build_plugin_host()


async def make_worker(host: PluginHost, clock: FastForwardClock) -> tuple[Worker, TraderDouble]:
    market = MockConnector(seed=3, clock=clock)
    await market.connect()
    strategies = build_strategies([StrategyConfig(name="ema_rsi")], host.registry)
    group = StrategyGroup([s for _, s in strategies], RegistryIndicatorSource(host.registry))
    trader = TraderDouble()
    worker = Worker(
        WorkerKey("acc", "EURUSD", "1m"),
        timeframe_s=60,
        market=market,
        clock=clock,
        group=group,
        trader=cast(AccountTrader, trader),
        timing=WorkerTiming(settle_delay_s=0.5, max_decision_delay_s=5.0),
    )
    await worker.warm_up()
    return worker, trader


async def test_a_fresh_bar_is_decided_once_and_missed_bars_are_only_replayed(
    host: PluginHost,
) -> None:
    clock = FastForwardClock(START)
    worker, trader = await make_worker(host, clock)
    first = next_bar_close(clock.now(), 60)
    await clock.sleep_until(first + 0.5)
    await worker.on_bar_close(first)
    assert trader.decided == [first]
    seen = worker.bars_seen
    later = first + 4 * 60  # three closes missed (a stall), then the fourth on time
    await clock.sleep_until(later + 0.5)
    await worker.on_bar_close(later)
    assert trader.decided == [first, later]  # the three missed bars were not traded
    assert worker.bars_seen == seen + 4  # ...but they were fed to the indicators
    assert worker.last_bar_end_ts == later


async def test_a_bar_that_arrives_too_late_is_not_traded(host: PluginHost) -> None:
    clock = FastForwardClock(START)
    worker, trader = await make_worker(host, clock)
    close = next_bar_close(clock.now(), 60)
    await clock.sleep_until(close + 30)  # far beyond max_decision_delay_s
    await worker.on_bar_close(close)
    assert trader.decided == []
    assert worker.stale_bars == 1
    assert worker.last_bar_end_ts == close
