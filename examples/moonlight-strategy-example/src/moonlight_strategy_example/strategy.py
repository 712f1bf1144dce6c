"""SMA trend: up while the close is above its simple moving average, down below it.

Strength grows with the distance from the average: ``|close − sma| / sma`` in percent,
divided by ``full_strength_pct`` and capped at 1. Both evaluation paths (the streaming
``evaluate`` and the vectorised ``evaluate_arrays``) use the same arithmetic, so they
give the same signal on every bar.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

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

ABOVE = "close above its moving average"
BELOW = "close below its moving average"


class SmaTrendParams(StrategyParams):
    """Parameters of :class:`SmaTrend`."""

    period: int = Field(default=20, ge=2, le=1000, description="Moving-average length, bars.")
    full_strength_pct: float = Field(
        default=0.1,
        gt=0,
        le=100,
        description="Distance from the average, percent, that gives full strength.",
    )


class SmaTrend(Strategy[SmaTrendParams]):
    """Price against its simple moving average (see the module docstring)."""

    name = "sma_trend"
    summary = "Close above / below its SMA, stronger further away (example plugin)"
    params_model = SmaTrendParams
    reasons = ("", ABOVE, BELOW)

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        self._sma = IndicatorNeed.of("sma", timeperiod=self.params.period)
        return (self._sma,)

    @property
    def warmup_bars(self) -> int:
        return self.params.period - 1

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        average = indicators[self._sma.key]
        assert isinstance(average, float)
        if not average > 0.0:  # NaN during warm-up, or a degenerate series
            return NO_SIGNAL
        distance_pct = (bar.close - average) / average * 100.0
        strength = min(1.0, abs(distance_pct) / self.params.full_strength_pct)
        if distance_pct > 0.0:
            return Signal(UP, strength, ABOVE)
        if distance_pct < 0.0:
            return Signal(DOWN, strength, BELOW)
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> tuple[npt.NDArray[np.int8], FloatArray, npt.NDArray[np.int16]]:
        average = np.asarray(indicators[self._sma.key], np.float64)
        close = prices["close"]
        valid = average > 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            distance_pct = np.where(valid, (close - average) / average * 100.0, 0.0)
        strength = np.minimum(1.0, np.abs(distance_pct) / self.params.full_strength_pct)
        direction = np.sign(distance_pct).astype(np.int8)
        codes = np.where(direction > 0, 1, np.where(direction < 0, 2, 0)).astype(np.int16)
        return direction, np.where(direction != 0, strength, 0.0), codes
