"""MACD cross: vote with the MACD line when it crosses its signal line.

Rule (bar just closed), with MACD(``fast_period``, ``slow_period``, ``signal_period``):

* **up** when the histogram (MACD − signal) turns positive: > 0 now, ≤ 0 on the bar
  before;
* **down** when it turns negative: < 0 now, ≥ 0 on the bar before;
* nothing while ATR is 0.

Strength: 0.5 at the cross plus half of |histogram| / (``hist_full_atr`` × ATR),
capped at 1 -- a decisive cross votes harder than a graze. Intended for 1-minute to
15-minute bars with an expiry of 2–5 bars.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from moonlight.core.strategy.api import (
    DOWN,
    NO_SIGNAL,
    UP,
    BarLike,
    FloatArray,
    IndicatorArray,
    IndicatorNeed,
    IndicatorValue,
    Signal,
    StrategyParams,
)
from moonlight.strategies.basic._base import (
    BasicStrategy,
    SignalArrays,
    output,
    previous,
    signals,
    single,
)

UP_REASON = "MACD crossed above its signal line"
DOWN_REASON = "MACD crossed below its signal line"


class MacdCrossParams(StrategyParams):
    """Parameters of :class:`MacdCross`."""

    fast_period: int = Field(default=12, ge=2, le=200, description="Fast EMA period, bars.")
    slow_period: int = Field(default=26, ge=3, le=500, description="Slow EMA period, bars.")
    signal_period: int = Field(default=9, ge=1, le=200, description="Signal EMA period, bars.")
    atr_period: int = Field(default=14, ge=1, le=200, description="ATR period for strength.")
    hist_full_atr: float = Field(
        default=0.1, gt=0, le=10, description="|histogram|, in ATRs, for full strength."
    )

    @model_validator(mode="after")
    def _fast_below_slow(self) -> MacdCrossParams:
        if self.fast_period >= self.slow_period:
            raise ValueError("fast_period must be shorter than slow_period")
        return self


class MacdCross(BasicStrategy[MacdCrossParams]):
    """MACD / signal-line crossings (see the module docstring)."""

    name = "macd_cross"
    summary = "MACD line crossing its signal line, strength from the histogram in ATRs"
    params_model = MacdCrossParams
    reasons = ("", UP_REASON, DOWN_REASON)

    def __init__(self, params: MacdCrossParams | None = None) -> None:
        super().__init__(params)
        self._previous_hist = float("nan")

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        p = self.params
        self._macd = IndicatorNeed.of(
            "macd",
            fastperiod=p.fast_period,
            slowperiod=p.slow_period,
            signalperiod=p.signal_period,
        )
        self._atr = IndicatorNeed.of("atr", timeperiod=p.atr_period)
        return (self._macd, self._atr)

    @property
    def warmup_bars(self) -> int:
        """Four times the slow period plus the signal period (EMA of an EMA)."""
        p = self.params
        return 4 * (p.slow_period + p.signal_period)

    def reset(self) -> None:
        self._previous_hist = float("nan")

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        macd: Any = indicators[self._macd.key]
        hist = macd[2]
        atr: Any = indicators[self._atr.key]
        before, self._previous_hist = self._previous_hist, hist
        if not atr > 0.0:
            return NO_SIGNAL
        scale = self.params.hist_full_atr
        if hist > 0.0 and before <= 0.0:
            return Signal(UP, min(1.0, 0.5 + 0.5 * (hist / atr / scale)), UP_REASON)
        if hist < 0.0 and before >= 0.0:
            return Signal(DOWN, min(1.0, 0.5 + 0.5 * (-hist / atr / scale)), DOWN_REASON)
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> SignalArrays:
        hist = output(indicators[self._macd.key], 2)
        atr = single(indicators[self._atr.key])
        before = previous(hist)
        scale = self.params.hist_full_atr
        live = atr > 0.0
        up = live & (hist > 0.0) & (before <= 0.0)
        down = live & (hist < 0.0) & (before >= 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            up_strength = np.minimum(1.0, 0.5 + 0.5 * (hist / atr / scale))
            down_strength = np.minimum(1.0, 0.5 + 0.5 * (-hist / atr / scale))
        return signals(up, down, up_strength, down_strength)
