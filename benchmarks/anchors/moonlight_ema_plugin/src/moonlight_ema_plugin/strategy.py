"""EMA cross: up when the fast EMA crosses above the slow one, down when it crosses below.

The rule every anchor in the benchmark trades (EMA 9/21 by default): on the bar where
``fast − slow`` turns positive (was ≤ 0) vote up, where it turns negative (was ≥ 0)
vote down, at full strength; nothing otherwise. The streaming ``evaluate`` remembers the
previous difference; ``evaluate_arrays`` shifts the column by one bar: same votes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
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
    Strategy,
    StrategyParams,
)

UP_REASON = "fast EMA crossed above the slow EMA"
DOWN_REASON = "fast EMA crossed below the slow EMA"


class EmaCrossParams(StrategyParams):
    """Parameters of :class:`EmaCross`."""

    fast_period: int = Field(default=9, ge=2, le=500, description="Fast EMA period, bars.")
    slow_period: int = Field(default=21, ge=3, le=1000, description="Slow EMA period, bars.")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> EmaCrossParams:
        if self.fast_period >= self.slow_period:
            raise ValueError("fast_period must be shorter than slow_period")
        return self


class EmaCross(Strategy[EmaCrossParams]):
    """Fast/slow EMA crossings (see the module docstring)."""

    name = "ema_cross"
    summary = "Fast EMA crossing the slow EMA (anchor benchmark plugin)"
    params_model = EmaCrossParams
    reasons = ("", UP_REASON, DOWN_REASON)

    def __init__(self, params: EmaCrossParams | None = None) -> None:
        super().__init__(params)
        self._previous = float("nan")

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        self._fast = IndicatorNeed.of("ema", timeperiod=self.params.fast_period)
        self._slow = IndicatorNeed.of("ema", timeperiod=self.params.slow_period)
        return (self._fast, self._slow)

    @property
    def warmup_bars(self) -> int:
        return self.params.slow_period

    def reset(self) -> None:
        self._previous = float("nan")

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        fast: Any = indicators[self._fast.key]
        slow: Any = indicators[self._slow.key]
        difference = fast - slow
        before, self._previous = self._previous, difference
        if difference > 0.0 and before <= 0.0:
            return Signal(UP, 1.0, UP_REASON)
        if difference < 0.0 and before >= 0.0:
            return Signal(DOWN, 1.0, DOWN_REASON)
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> tuple[npt.NDArray[np.int8], FloatArray, npt.NDArray[np.int16]]:
        fast = np.asarray(indicators[self._fast.key], np.float64)
        slow = np.asarray(indicators[self._slow.key], np.float64)
        difference = fast - slow
        before = np.concatenate(([np.nan], difference[:-1]))
        up = (difference > 0.0) & (before <= 0.0)
        down = (difference < 0.0) & (before >= 0.0)
        direction = np.where(up, 1, np.where(down, -1, 0)).astype(np.int8)
        codes = np.where(up, 1, np.where(down, 2, 0)).astype(np.int16)
        return direction, np.where(direction != 0, 1.0, 0.0), codes
