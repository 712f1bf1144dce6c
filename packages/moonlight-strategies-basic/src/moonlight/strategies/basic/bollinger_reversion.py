"""Bollinger mean reversion: fade a close outside the bands, expecting a snap back.

Rule (bar just closed), with Bollinger Bands(``period``, ``nbdev``) on the close:

* **up** when the close is below the lower band;
* **down** when the close is above the upper band;
* nothing when the bands have no width (a flat market).

Strength: 0.5 at the band, rising linearly to 1 when the close is ``full_excess``
half-band-widths beyond it. Intended for 1-minute to 5-minute bars in ranging markets
with a short expiry (1–2 bars).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
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
    StrategyParams,
)
from moonlight.strategies.basic._base import BasicStrategy, SignalArrays, output, signals

UP_REASON = "close below the lower Bollinger band"
DOWN_REASON = "close above the upper Bollinger band"


class BollingerReversionParams(StrategyParams):
    """Parameters of :class:`BollingerReversion`."""

    period: int = Field(default=20, ge=2, le=500, description="Bollinger average period, bars.")
    nbdev: float = Field(
        default=2.0, gt=0, le=10, description="Band distance in standard deviations."
    )
    full_excess: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="Distance beyond the band, in half-band widths, for full strength.",
    )


class BollingerReversion(BasicStrategy[BollingerReversionParams]):
    """Fade closes outside the Bollinger Bands (see the module docstring)."""

    name = "bollinger_reversion"
    summary = "Mean reversion: up below the lower Bollinger band, down above the upper"
    params_model = BollingerReversionParams
    reasons = ("", UP_REASON, DOWN_REASON)

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        p = self.params
        self._bands = IndicatorNeed.of(
            "bbands", timeperiod=p.period, nbdevup=p.nbdev, nbdevdn=p.nbdev, matype=0
        )
        return (self._bands,)

    @property
    def warmup_bars(self) -> int:
        """The band look-back: exact from the first full window."""
        return self.params.period

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        bands: Any = indicators[self._bands.key]
        upper, middle, lower = bands
        close = bar.close
        full = self.params.full_excess
        if not upper > middle > lower:
            return NO_SIGNAL
        if close < lower:
            strength = min(1.0, 0.5 + 0.5 * ((lower - close) / (middle - lower) / full))
            return Signal(UP, strength, UP_REASON)
        if close > upper:
            strength = min(1.0, 0.5 + 0.5 * ((close - upper) / (upper - middle) / full))
            return Signal(DOWN, strength, DOWN_REASON)
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> SignalArrays:
        bands = indicators[self._bands.key]
        upper, middle, lower = output(bands, 0), output(bands, 1), output(bands, 2)
        close = prices["close"]
        full = self.params.full_excess
        wide = (upper > middle) & (middle > lower)
        up = wide & (close < lower)
        down = wide & (close > upper)
        with np.errstate(divide="ignore", invalid="ignore"):
            up_strength = np.minimum(1.0, 0.5 + 0.5 * ((lower - close) / (middle - lower) / full))
            down_strength = np.minimum(1.0, 0.5 + 0.5 * ((close - upper) / (upper - middle) / full))
        return signals(up, down, up_strength, down_strength)
