"""The decision step on its own: several workers due at one instant, the real strategies
and indicators, traders that record what the step hands them. Every due series moves
its indicators and strategies once; only tradable bars are decided, in order; the step
gives the same signals as a worker's own bar-by-bar path; a failing indicator feed
gives every strategy "no signal" without stopping the other workers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from moonlight.core.config.models import StrategyConfig
from moonlight.core.connectors.contract import Candle
from moonlight.core.connectors.mock import MockConnector
from moonlight.core.execution.journal import OrderIntent
from moonlight.core.plugins import PluginHost, build_plugin_host
from moonlight.core.runtime import step
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.step import Due, decide
from moonlight.core.runtime.trader import AccountTrader
from moonlight.core.runtime.worker import Worker
from moonlight.core.runtime.worker_key import WorkerKey
from moonlight.core.strategy.api import Signal
from moonlight.core.strategy.factory import build_strategies
from moonlight.core.strategy.host import ERROR_SIGNAL, StrategyGroup
from moonlight.core.strategy.indicators import RegistryIndicatorSource

START = 1_767_600_000.0


@dataclass
class RecordingTrader:
    """Records each decision the step asks for; returns a marker instead of an order."""

    calls: list[tuple[str, float, list[Signal]]] = field(default_factory=list)

    def decide(
        self, key: WorkerKey, bar: Candle, signals: Any, group: Any, close_ts: float
    ) -> OrderIntent | None:
        self.calls.append((key.label, close_ts, list(signals)))
        return cast(OrderIntent, key.label)


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return build_plugin_host()


def group_of(host: PluginHost, *names: str) -> StrategyGroup:
    strategies = build_strategies([StrategyConfig(name=n) for n in names], host.registry)
    return StrategyGroup([s for _, s in strategies], RegistryIndicatorSource(host.registry))


def worker_of(
    host: PluginHost, instrument: str, trader: RecordingTrader, clock: FastForwardClock
) -> Worker:
    return Worker(
        WorkerKey("acc", instrument, "1m"),
        timeframe_s=60,
        market=MockConnector(seed=5, clock=clock),
        clock=clock,
        group=group_of(host, "ema_rsi", "bollinger_reversion"),
        trader=cast(AccountTrader, trader),
    )


async def history(instrument: str, bars: int) -> list[Candle]:
    clock = FastForwardClock(START + bars * 60)
    market = MockConnector(seed=11, clock=clock)
    await market.connect()
    return list(await market.candles(instrument, 60, count=bars, end_ts=clock.now()))


async def test_every_due_series_moves_once_and_only_tradable_bars_are_decided(
    host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FastForwardClock(START)
    trader = RecordingTrader()
    a = worker_of(host, "EURUSD", trader, clock)
    b = worker_of(host, "GBPUSD", trader, clock)
    bars_a, bars_b = await history("EURUSD", 60), await history("GBPUSD", 60)
    batches: list[int] = []
    original = step.evaluate_strategies

    def counted(items: Any) -> list[Signal]:
        batches.append(len(items))
        return original(items)

    monkeypatch.setattr(step, "evaluate_strategies", counted)
    reference = group_of(host, "ema_rsi", "bollinger_reversion")
    for bar_a, bar_b in zip(bars_a, bars_b, strict=True):
        close = bar_a.end_ts
        orders = decide([Due(a, bar_a, close, True), Due(b, bar_b, close, False)])
        assert orders == [cast(OrderIntent, a.key.label)]
        # The step's signals equal a worker's own bar-by-bar path on the same bars.
        assert trader.calls[-1] == (a.key.label, close, list(reference.on_bar(bar_a)))
    assert batches == [4] * 60  # one call per instant: two workers × two strategies
    assert len(trader.calls) == 60  # b's bars were never decided...
    assert a.bars_seen == b.bars_seen == 60  # ...but both series moved on every bar
    assert b.last_bar_end_ts == bars_b[-1].end_ts
    assert [host.bars_seen for host in b.group.hosts] == [60, 60]


async def test_a_failing_feed_gives_no_signal_for_that_worker_only(host: PluginHost) -> None:
    clock = FastForwardClock(START)
    trader = RecordingTrader()
    broken = worker_of(host, "EURUSD", trader, clock)
    sound = worker_of(host, "GBPUSD", trader, clock)

    def fail(bar: Any) -> Any:
        raise ValueError("a broken indicator plugin")

    broken.group.feed.update = fail  # type: ignore[method-assign]
    bar_a, bar_b = (await history("EURUSD", 1))[0], (await history("GBPUSD", 1))[0]
    decide([Due(broken, bar_a, bar_a.end_ts, True), Due(sound, bar_b, bar_b.end_ts, True)])
    assert trader.calls[0][2] == [ERROR_SIGNAL, ERROR_SIGNAL]
    assert ERROR_SIGNAL not in trader.calls[1][2]
    assert broken.group.feed_errors == 1
    assert [h.bars_seen for h in broken.group.hosts] == [1, 1]


async def test_the_clock_is_idle_only_when_nothing_wakes_before_the_instant() -> None:
    clock = FastForwardClock(START)
    loop = asyncio.get_running_loop()
    assert clock.idle_until(START + 60)
    waiting = loop.create_task(clock.sleep_until(START + 30))
    await asyncio.sleep(0)  # the sleeper is registered
    assert not clock.idle_until(START + 60)  # it wakes first: time must run through it
    assert clock.idle_until(START + 20)  # only the clock's own driver is ready
    ready = loop.call_soon(lambda: None)
    assert not clock.idle_until(START + 20)  # another callback is ready: let it run first
    ready.cancel()
    await waiting
    assert clock.now() == START + 30
