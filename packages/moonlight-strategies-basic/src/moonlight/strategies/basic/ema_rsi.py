"""EMA + RSI: follow a moving-average trend while momentum agrees and is not stretched.

Rule (bar just closed):

* **up** when EMA(fast) > EMA(slow) and 50 < RSI < ``rsi_overbought``;
* **down** when EMA(fast) < EMA(slow) and ``rsi_oversold`` < RSI < 50;
* nothing while ATR is 0 (a flat market) or any value is still NaN.

Strength: half from the EMA gap measured in ATRs (full at ``gap_full_atr``), half from
how far RSI is from 50 towards the overbought/oversold line. Intended for 1-minute to
5-minute bars with an expiry of 1–3 bars.
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
from moonlight.strategies.basic._base import BasicStrategy, SignalArrays, signals, single

UP_REASON = "EMA trend up, RSI rising below overbought"
DOWN_REASON = "EMA trend down, RSI falling above oversold"


class EmaRsiParams(StrategyParams):
    """Parameters of :class:`EmaRsi`."""

    fast_period: int = Field(default=9, ge=2, le=200, description="Fast EMA period, bars.")
    slow_period: int = Field(default=21, ge=3, le=500, description="Slow EMA period, bars.")
    rsi_period: int = Field(default=14, ge=2, le=200, description="RSI period, bars.")
    rsi_overbought: float = Field(
        default=70.0, gt=50, le=100, description="No up signal at or above this RSI."
    )
    rsi_oversold: float = Field(
        default=30.0, ge=0, lt=50, description="No down signal at or below this RSI."
    )
    atr_period: int = Field(default=14, ge=1, le=200, description="ATR period for the gap.")
    gap_full_atr: float = Field(
        default=0.5, gt=0, le=10, description="EMA gap, in ATRs, that counts as a full trend."
    )

    @model_validator(mode="after")
    def _fast_below_slow(self) -> EmaRsiParams:
        if self.fast_period >= self.slow_period:
            raise ValueError("fast_period must be shorter than slow_period")
        return self


class EmaRsi(BasicStrategy[EmaRsiParams]):
    """EMA trend with an RSI momentum filter (see the module docstring)."""

    name = "ema_rsi"
    summary = "EMA(fast/slow) trend confirmed by RSI between 50 and overbought/oversold"
    params_model = EmaRsiParams
    reasons = ("", UP_REASON, DOWN_REASON)

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        p = self.params
        self._fast = IndicatorNeed.of("ema", timeperiod=p.fast_period)
        self._slow = IndicatorNeed.of("ema", timeperiod=p.slow_period)
        self._rsi = IndicatorNeed.of("rsi", timeperiod=p.rsi_period)
        self._atr = IndicatorNeed.of("atr", timeperiod=p.atr_period)
        return (self._fast, self._slow, self._rsi, self._atr)

    @property
    def warmup_bars(self) -> int:
        """Four times the longest period: the recursive averages forget their seed."""
        p = self.params
        return 4 * max(p.slow_period, p.rsi_period, p.atr_period)

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        fast: Any = indicators[self._fast.key]
        slow: Any = indicators[self._slow.key]
        rsi: Any = indicators[self._rsi.key]
        atr: Any = indicators[self._atr.key]
        p = self.params
        if not atr > 0.0:
            return NO_SIGNAL
        if fast > slow and 50.0 < rsi < p.rsi_overbought:
            strength = 0.5 * min(1.0, (fast - slow) / atr / p.gap_full_atr) + 0.5 * min(
                1.0, (rsi - 50.0) / (p.rsi_overbought - 50.0)
            )
            return Signal(UP, strength, UP_REASON)
        if fast < slow and p.rsi_oversold < rsi < 50.0:
            strength = 0.5 * min(1.0, (slow - fast) / atr / p.gap_full_atr) + 0.5 * min(
                1.0, (50.0 - rsi) / (50.0 - p.rsi_oversold)
            )
            return Signal(DOWN, strength, DOWN_REASON)
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> SignalArrays:
        fast = single(indicators[self._fast.key])
        slow = single(indicators[self._slow.key])
        rsi = single(indicators[self._rsi.key])
        atr = single(indicators[self._atr.key])
        p = self.params
        live = atr > 0.0
        up = live & (fast > slow) & (rsi > 50.0) & (rsi < p.rsi_overbought)
        down = live & (fast < slow) & (rsi > p.rsi_oversold) & (rsi < 50.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            up_strength = 0.5 * np.minimum(1.0, (fast - slow) / atr / p.gap_full_atr) + 0.5 * (
                np.minimum(1.0, (rsi - 50.0) / (p.rsi_overbought - 50.0))
            )
            down_strength = 0.5 * np.minimum(1.0, (slow - fast) / atr / p.gap_full_atr) + 0.5 * (
                np.minimum(1.0, (50.0 - rsi) / (50.0 - p.rsi_oversold))
            )
        return signals(up, down, up_strength, down_strength)
