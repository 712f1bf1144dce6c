"""``evaluate_grouped``: one batched call per group, the same signals as the per-item loop.

Every worker has two twin copies of its strategy fed the same bars: one is evaluated item
by item with ``evaluate``, the other through ``evaluate_grouped`` with every worker due at
the instant. Any mix of the reference strategies and a batching strategy (several
batch keys) must give identical signals at every instant, and the batching strategy must
be called once per group and instant.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from pydantic import Field

from moonlight.core.runtime.step import evaluate_strategies
from moonlight.core.strategy.api import (
    WARMUP_SIGNAL,
    Bar,
    BarLike,
    FloatArray,
    IndicatorArray,
    IndicatorNeed,
    IndicatorValue,
    Signal,
    SignalDirection,
    Strategy,
    StrategyItem,
    StrategyParams,
)
from moonlight.core.strategy.batch import evaluate_grouped
from moonlight.core.strategy.host import ERROR_SIGNAL, StrategyHost
from moonlight.core.strategy.indicators import IndicatorFeed
from moonlight.strategies.basic._base import library_source
from moonlight.strategies.basic.plugin import STRATEGIES


class PoolParams(StrategyParams):
    pool: int = Field(default=0, ge=0)
    threshold: float = Field(default=0.0)


class PooledMomentum(Strategy[PoolParams]):
    """A batching test strategy: the close change since the previous bar, vectorised.

    Instances with the same ``pool`` share one ``evaluate_many`` call, which scores all
    their rows with one numpy expression (the shape of a model's batched inference).
    """

    name = "pooled-momentum"
    summary = "test strategy"
    params_model = PoolParams
    reasons = ("", "rose", "fell")
    calls: ClassVar[list[int]] = []

    def __init__(self, params: PoolParams | None = None) -> None:
        super().__init__(params)
        self.previous = float("nan")

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        return (IndicatorNeed.of("sma", timeperiod=3),)

    @property
    def warmup_bars(self) -> int:
        return 3

    def reset(self) -> None:
        self.previous = float("nan")

    def batch_key(self) -> Hashable:
        return self.params.pool

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        previous, self.previous = self.previous, bar.close
        return self._verdict(bar.close - previous)

    def _verdict(self, change: float) -> Signal:
        if change > self.params.threshold:
            return Signal(SignalDirection.UP, min(1.0, change * 1e3), "rose")
        if change < -self.params.threshold:
            return Signal(SignalDirection.DOWN, min(1.0, -change * 1e3), "fell")
        return Signal(SignalDirection.NONE, 0.0, "")

    @classmethod
    def evaluate_many(cls, items: Sequence[StrategyItem]) -> list[Signal]:
        cls.calls.append(len(items))
        strategies = [item[0] for item in items if isinstance(item[0], PooledMomentum)]
        closes = np.array([bar.close for _, bar, _ in items])
        previous = np.array([s.previous for s in strategies])
        changes = closes - previous  # the batched step
        for strategy, close in zip(strategies, closes.tolist(), strict=True):
            strategy.previous = close
        return [s._verdict(c) for s, c in zip(strategies, changes.tolist(), strict=True)]

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> Any:
        raise NotImplementedError("not needed: the batch tests use the streaming path")


def _factories() -> list[Any]:
    basic = [lambda cls=cls: cls() for cls in STRATEGIES]
    pooled = [
        lambda pool=pool, threshold=threshold: PooledMomentum(
            PoolParams(pool=pool, threshold=threshold)
        )
        for pool in (0, 1)
        for threshold in (0.0, 1e-4)
    ]
    return basic + pooled


FACTORIES = _factories()


def _walk(seed: int, bars: int) -> list[Bar]:
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 5e-4, bars)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0, 3e-4, bars)) * close
    volume = rng.lognormal(3, 1, bars)
    ts = 1.7e9 + 60.0 * np.arange(bars)
    return [
        Bar(o, max(o, c) + s, min(o, c) - s, c, v, t)
        for o, c, s, v, t in zip(open_, close, spread, volume, ts, strict=True)
    ]


@settings(max_examples=25, deadline=None)
@given(
    kinds=st.lists(st.integers(0, len(FACTORIES) - 1), min_size=1, max_size=14),
    seed=st.integers(0, 2**31),
    bars=st.integers(1, 90),
    order=st.randoms(use_true_random=False),
)
def test_grouped_equals_the_per_item_loop(
    kinds: list[int], seed: int, bars: int, order: Any
) -> None:
    looped = [FACTORIES[k]() for k in kinds]
    grouped = [FACTORIES[k]() for k in kinds]
    feeds = [IndicatorFeed(s.needs, library_source()) for s in looped]
    walks = [_walk(seed + w, bars) for w in range(len(kinds))]
    pools = {s.batch_key() for s in grouped if isinstance(s, PooledMomentum)}
    for t in range(bars):
        due = list(range(len(kinds)))
        order.shuffle(due)  # workers come due in any order
        values = {w: dict(feeds[w].update(walks[w][t])) for w in due}
        expected = [looped[w].evaluate(walks[w][t], values[w]) for w in due]
        PooledMomentum.calls.clear()
        got = evaluate_grouped([(grouped[w], walks[w][t], values[w]) for w in due])
        assert got == expected
        assert len(PooledMomentum.calls) == len(pools)  # one call per pool and instant


class Broken(PooledMomentum):
    """Its batched call raises (after advancing its state, as a real failure might)."""

    name = "broken"

    @classmethod
    def evaluate_many(cls, items: Sequence[StrategyItem]) -> list[Signal]:
        super().evaluate_many(items)
        raise RuntimeError("inference failed")


class Short(PooledMomentum):
    """Its batched call loses an item."""

    name = "short"

    @classmethod
    def evaluate_many(cls, items: Sequence[StrategyItem]) -> list[Signal]:
        return super().evaluate_many(items)[:-1]


@pytest.mark.parametrize("bad", [Broken, Short])
def test_a_failing_group_gets_error_signals_and_no_other_group_is_touched(
    bad: type[PooledMomentum], caplog: pytest.LogCaptureFixture
) -> None:
    bar, later = Bar(1.0, 1.0, 1.0, 1.0), Bar(1.0, 1.0, 1.0, 1.001)
    good, twin = PooledMomentum(), PooledMomentum()
    failing = [bad(), bad()]
    for s in (good, twin, *failing):
        s.evaluate(bar, {})
    expected = twin.evaluate(later, {})
    with caplog.at_level(logging.ERROR, logger="moonlight.strategy"):
        got = evaluate_grouped(
            [(failing[0], later, {}), (good, later, {}), (failing[1], later, {})]
        )
    assert got == [ERROR_SIGNAL, expected, ERROR_SIGNAL]
    assert expected.direction is SignalDirection.UP
    assert bad.name in caplog.text and "2 item" in caplog.text
    assert failing[0].previous == later.close  # state advanced once: no second pass


def test_a_strategy_that_does_not_batch_is_a_group_of_one() -> None:
    a, b = STRATEGIES[0](), STRATEGIES[0]()
    assert a.batch_key() is a and a.batch_key() != b.batch_key()
    assert evaluate_grouped([]) == []


def test_the_decision_step_batches_what_batches_and_keeps_the_hosts_rules() -> None:
    """The step's one call site: hosts of a batching strategy share one call per group,
    with the host's warm-up masking and error accounting; twins evaluated one by one
    through their own hosts give the same signals bar after bar."""
    walks = [_walk(seed, 8) for seed in range(4)]
    batched = [StrategyHost(PooledMomentum()) for _ in walks]
    twins = [StrategyHost(PooledMomentum()) for _ in walks]
    failing = StrategyHost(Broken())
    for t in range(8):
        PooledMomentum.calls.clear()
        items = [(h, walk[t], {}) for h, walk in zip(batched, walks, strict=True)]
        got = evaluate_strategies([*items, (failing, walks[0][t], {})])  # type: ignore[list-item]
        expected = [h.on_bar(walk[t], {}) for h, walk in zip(twins, walks, strict=True)]
        assert got == [*expected, ERROR_SIGNAL]
        assert (got[0] is WARMUP_SIGNAL) == (t < 3)  # the host masks the warm-up
        assert PooledMomentum.calls == [4, 1]  # one call for the pool, one for Broken
    assert all(h.bars_seen == 8 for h in batched)
    assert failing.errors == 8 and "batched" in str(failing.last_error)
