"""VWAP + RVOL: a bar that closes on the strong side of the day's VWAP on heavy volume.

Rule (bar just closed), with the VWAP anchored to the UTC day (``anchored_vwap``,
restarting at midnight + ``day_offset_s``) and relative volume RVOL = this bar's
volume / the mean of the previous ``rvol_period`` bars:

* **up** when close > VWAP, the bar closed up (close > open) and RVOL ≥ ``rvol_min``;
* **down** when close < VWAP, the bar closed down and RVOL ≥ ``rvol_min``;
* nothing without volume (the VWAP and RVOL are undefined -- forex feeds without
  volume, such as the EURUSD test file, never fire this rule).

Strength: (RVOL − 1) / (``rvol_full`` − 1), capped at 1 -- the heavier the volume, the
stronger the vote. Intended for 1-minute to 5-minute bars of instruments with real
traded volume (crypto, futures, stocks), expiry 1–3 bars.
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

UP_REASON = "up bar above the day's VWAP on heavy volume"
DOWN_REASON = "down bar below the day's VWAP on heavy volume"
#: ``anchored_vwap``'s anchor value for "restart every UTC day".
ANCHOR_DAY = 1


class VwapRvolParams(StrategyParams):
    """Parameters of :class:`VwapRvol`."""

    rvol_period: int = Field(default=20, ge=1, le=1000, description="RVOL average, bars.")
    rvol_min: float = Field(default=1.5, gt=1, le=100, description="Least RVOL that counts.")
    rvol_full: float = Field(default=3.0, gt=1, le=100, description="RVOL for full strength.")
    day_offset_s: float = Field(
        default=0.0,
        ge=-86_400,
        le=86_400,
        description="Shift of the VWAP's day start from 00:00 UTC, seconds.",
    )

    @model_validator(mode="after")
    def _full_above_min(self) -> VwapRvolParams:
        if self.rvol_full < self.rvol_min:
            raise ValueError("rvol_full must not be below rvol_min")
        return self


class VwapRvol(BasicStrategy[VwapRvolParams]):
    """Day-anchored VWAP side confirmed by relative volume (see the module docstring)."""

    name = "vwap_rvol"
    summary = "Close on the bar's side of the day-anchored VWAP with relative volume >= min"
    params_model = VwapRvolParams
    reasons = ("", UP_REASON, DOWN_REASON)

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        p = self.params
        self._vwap = IndicatorNeed.of(
            "anchored_vwap", anchor=ANCHOR_DAY, offset_s=p.day_offset_s, gap_s=3600.0
        )
        self._rvol = IndicatorNeed.of("rvol", timeperiod=p.rvol_period)
        return (self._vwap, self._rvol)

    @property
    def warmup_bars(self) -> int:
        """The RVOL window plus one bar (the VWAP needs no warm-up)."""
        return self.params.rvol_period + 1

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        vwap: Any = indicators[self._vwap.key]
        rvol: Any = indicators[self._rvol.key]
        p = self.params
        if not rvol >= p.rvol_min:
            return NO_SIGNAL
        close = bar.close
        strength = min(1.0, (rvol - 1.0) / (p.rvol_full - 1.0))
        if close > vwap and close > bar.open:
            return Signal(UP, strength, UP_REASON)
        if close < vwap and close < bar.open:
            return Signal(DOWN, strength, DOWN_REASON)
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> SignalArrays:
        vwap = single(indicators[self._vwap.key])
        rvol = single(indicators[self._rvol.key])
        close, open_ = prices["close"], prices["open"]
        p = self.params
        heavy = rvol >= p.rvol_min
        up = heavy & (close > vwap) & (close > open_)
        down = heavy & (close < vwap) & (close < open_)
        strength = np.minimum(1.0, (rvol - 1.0) / (p.rvol_full - 1.0))
        return signals(up, down, strength, strength)
