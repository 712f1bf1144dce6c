"""Supertrend + ADX: trade the Supertrend direction only when ADX says a trend exists.

Rule (bar just closed):

* **up** when the Supertrend trend is +1, ADX ≥ ``adx_min`` and +DI > −DI;
* **down** when the Supertrend trend is −1, ADX ≥ ``adx_min`` and −DI > +DI.

Strength: ADX / ``adx_full`` (capped at 1): the stronger the trend, the stronger the
vote. Intended for 1-minute to 15-minute bars with an expiry of 2–5 bars (trends need a
little time to pay).
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
from moonlight.strategies.basic._base import BasicStrategy, SignalArrays, output, signals, single

UP_REASON = "Supertrend up in an ADX trend"
DOWN_REASON = "Supertrend down in an ADX trend"


class SupertrendAdxParams(StrategyParams):
    """Parameters of :class:`SupertrendAdx`."""

    supertrend_period: int = Field(default=10, ge=1, le=200, description="Supertrend ATR bars.")
    supertrend_multiplier: float = Field(
        default=3.0, gt=0, le=20, description="Supertrend band width, in ATRs."
    )
    adx_period: int = Field(default=14, ge=2, le=200, description="ADX / DI period, bars.")
    adx_min: float = Field(default=25.0, ge=0, le=100, description="Least ADX that is a trend.")
    adx_full: float = Field(
        default=50.0, gt=0, le=100, description="ADX at which the vote has full strength."
    )

    @model_validator(mode="after")
    def _full_above_min(self) -> SupertrendAdxParams:
        if self.adx_full < self.adx_min:
            raise ValueError("adx_full must not be below adx_min")
        return self


class SupertrendAdx(BasicStrategy[SupertrendAdxParams]):
    """Supertrend direction filtered by ADX and the DI lines (see the module docstring)."""

    name = "supertrend_adx"
    summary = "Supertrend direction when ADX shows a trend and the DI lines agree"
    params_model = SupertrendAdxParams
    reasons = ("", UP_REASON, DOWN_REASON)

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        p = self.params
        self._supertrend = IndicatorNeed.of(
            "supertrend", timeperiod=p.supertrend_period, multiplier=p.supertrend_multiplier
        )
        self._adx = IndicatorNeed.of("adx", timeperiod=p.adx_period)
        self._plus_di = IndicatorNeed.of("plus_di", timeperiod=p.adx_period)
        self._minus_di = IndicatorNeed.of("minus_di", timeperiod=p.adx_period)
        return (self._supertrend, self._adx, self._plus_di, self._minus_di)

    @property
    def warmup_bars(self) -> int:
        """Four times the longer look-back (ADX needs two smoothing passes)."""
        p = self.params
        return 4 * max(p.supertrend_period, 2 * p.adx_period)

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        supertrend: Any = indicators[self._supertrend.key]
        trend = supertrend[1]
        adx: Any = indicators[self._adx.key]
        plus_di: Any = indicators[self._plus_di.key]
        minus_di: Any = indicators[self._minus_di.key]
        p = self.params
        if not adx >= p.adx_min:
            return NO_SIGNAL
        if trend > 0 and plus_di > minus_di:
            return Signal(UP, min(1.0, adx / p.adx_full), UP_REASON)
        if trend < 0 and minus_di > plus_di:
            return Signal(DOWN, min(1.0, adx / p.adx_full), DOWN_REASON)
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> SignalArrays:
        trend = output(indicators[self._supertrend.key], 1)
        adx = single(indicators[self._adx.key])
        plus_di = single(indicators[self._plus_di.key])
        minus_di = single(indicators[self._minus_di.key])
        p = self.params
        trending = adx >= p.adx_min
        up = trending & (trend > 0) & (plus_di > minus_di)
        down = trending & (trend < 0) & (minus_di > plus_di)
        strength = np.minimum(1.0, adx / p.adx_full)
        return signals(up, down, strength, strength)
