"""Synthetic candles with a planted edge, and the one strategy that can see it.

**The rule.** One-minute bars whose direction persists: each bar closes in the same
direction as the bar before it (up after an up bar, down after a down bar) with
probability ``p_win`` = 0.60, and in the other direction otherwise; the size of each
move is log-normal, so no bar is flat (no pushes). A contract entered at a bar's close
in the direction of that bar, expiring one bar later, therefore wins with probability
0.60 -- above the 0.541 break-even of an 85 % payout.

**The strategy** ``planted_last_bar`` votes the direction of the bar that just closed,
at full strength, on both the streaming and the vectorised path. It knows nothing of
0.60: the engine has to learn that from its shadow outcomes before p̂ clears
break-even, which is what the tests check.

:func:`no_edge_candles` is the same generator with ``p_win`` = 0.5 (a fair coin).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from moonlight.core.data.candles import CandleSeries
from moonlight.core.plugins import ComponentSpec, hookimpl
from moonlight.core.strategy.api import (
    DOWN,
    NO_SIGNAL,
    UP,
    BarLike,
    IndicatorArray,
    IndicatorNeed,
    IndicatorValue,
    Signal,
    Strategy,
    StrategyParams,
)

P_WIN = 0.60
PAYOUT_PCT = 85.0
#: A Monday 00:00 UTC, so the first day is a whole day.
START_TS = 1_699_833_600.0
REASON = "last bar's direction"


def planted_candles(
    bars: int,
    *,
    p_win: float = P_WIN,
    seed: int = 1,
    instrument: str = "PLANTED",
) -> CandleSeries:
    """``bars`` one-minute candles following the rule of the module docstring."""
    rng = np.random.default_rng(seed)
    keep = rng.random(bars) < p_win
    sign = np.empty(bars)
    sign[0] = 1.0
    for i in range(1, bars):
        sign[i] = sign[i - 1] if keep[i] else -sign[i - 1]
    size = rng.lognormal(np.log(2e-4), 0.5, bars)
    close = 100.0 * np.exp(np.cumsum(sign * size))
    open_ = np.r_[100.0, close[:-1]]
    wiggle = rng.uniform(0.0, 1e-4, (2, bars))
    high = np.maximum(open_, close) * (1.0 + wiggle[0])
    low = np.minimum(open_, close) * (1.0 - wiggle[1])
    start = START_TS + 60.0 * np.arange(bars)
    columns = {
        "start_ts": start,
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": np.ones(bars),
    }
    return CandleSeries.from_arrays(
        instrument, 60, columns, source=f"planted edge p={p_win} seed={seed}"
    )


def no_edge_candles(bars: int, *, seed: int = 1, instrument: str = "NOEDGE") -> CandleSeries:
    """The same generator with a fair coin: no rule can win more than half the time."""
    return planted_candles(bars, p_win=0.5, seed=seed, instrument=instrument)


class LastBarParams(StrategyParams):
    """No parameters."""


class LastBar(Strategy[LastBarParams]):
    """Votes the direction of the bar that just closed (see the module docstring)."""

    name: ClassVar[str] = "planted_last_bar"
    summary: ClassVar[str] = "the direction of the last bar (test strategy)"
    params_model = LastBarParams
    reasons: ClassVar[tuple[str, ...]] = ("", REASON)

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        return ()

    @property
    def warmup_bars(self) -> int:
        return 1

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        if bar.close > bar.open:
            return Signal(UP, 1.0, REASON)
        if bar.close < bar.open:
            return Signal(DOWN, 1.0, REASON)
        return NO_SIGNAL

    def evaluate_arrays(
        self,
        prices: Mapping[str, npt.NDArray[np.float64]],
        indicators: Mapping[str, IndicatorArray],
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64], npt.NDArray[np.int16]]:
        direction = np.sign(prices["close"] - prices["open"]).astype(np.int8)
        strength = np.abs(direction).astype(np.float64)
        return direction, strength, np.abs(direction).astype(np.int16)


class PlantedEdgePlugin:
    """Registers :class:`LastBar` with a plugin host."""

    @hookimpl
    def moonlight_register_strategies(self) -> list[ComponentSpec]:
        return [
            ComponentSpec(
                name=LastBar.name,
                factory=LastBar,
                summary=LastBar.summary,
                config_model=LastBarParams,
                interface_version=LastBar.interface_version,
            )
        ]
