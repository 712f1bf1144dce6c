"""Stochastic reversal: %K crossing %D inside the oversold or overbought zone.

Rule (bar just closed), with the slow Stochastic(``fastk_period``, ``slowk_period``,
``slowd_period``, simple averages):

* **up** when %K crosses above %D (%K > %D now, %K ≤ %D on the bar before) while %D is
  below ``oversold``;
* **down** when %K crosses below %D while %D is above ``overbought``.

Strength: 0.5 at the zone's edge, rising linearly to 1 at the extreme (%D = 0 for up,
100 for down). Intended for 1-minute to 5-minute bars with a short expiry (1–3 bars).
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
from moonlight.strategies.basic._base import BasicStrategy, SignalArrays, output, previous, signals

UP_REASON = "Stochastic %K crossed above %D while oversold"
DOWN_REASON = "Stochastic %K crossed below %D while overbought"


class StochasticReversalParams(StrategyParams):
    """Parameters of :class:`StochasticReversal`."""

    fastk_period: int = Field(default=14, ge=1, le=500, description="%K look-back, bars.")
    slowk_period: int = Field(default=3, ge=1, le=100, description="%K smoothing, bars.")
    slowd_period: int = Field(default=3, ge=1, le=100, description="%D smoothing, bars.")
    oversold: float = Field(default=20.0, gt=0, lt=50, description="Zone for up crosses.")
    overbought: float = Field(default=80.0, gt=50, lt=100, description="Zone for down crosses.")

    @model_validator(mode="after")
    def _zones_apart(self) -> StochasticReversalParams:
        if self.oversold >= self.overbought:
            raise ValueError("oversold must be below overbought")
        return self


class StochasticReversal(BasicStrategy[StochasticReversalParams]):
    """Stochastic %K/%D crossings at the extremes (see the module docstring)."""

    name = "stochastic_reversal"
    summary = "Stochastic %K/%D cross inside the oversold (up) or overbought (down) zone"
    params_model = StochasticReversalParams
    reasons = ("", UP_REASON, DOWN_REASON)

    def __init__(self, params: StochasticReversalParams | None = None) -> None:
        super().__init__(params)
        self._previous_k = float("nan")
        self._previous_d = float("nan")

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        p = self.params
        self._stoch = IndicatorNeed.of(
            "stoch",
            fastk_period=p.fastk_period,
            slowk_period=p.slowk_period,
            slowk_matype=0,
            slowd_period=p.slowd_period,
            slowd_matype=0,
        )
        return (self._stoch,)

    @property
    def warmup_bars(self) -> int:
        """The Stochastic look-back (finite windows: exact once full) plus one bar."""
        p = self.params
        return p.fastk_period + p.slowk_period + p.slowd_period

    def reset(self) -> None:
        self._previous_k = float("nan")
        self._previous_d = float("nan")

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        stoch: Any = indicators[self._stoch.key]
        k, d = stoch
        k_before, d_before = self._previous_k, self._previous_d
        self._previous_k, self._previous_d = k, d
        p = self.params
        if k > d and k_before <= d_before and d < p.oversold:
            strength = 0.5 + 0.5 * ((p.oversold - d) / p.oversold)
            return Signal(UP, min(1.0, strength), UP_REASON)
        if k < d and k_before >= d_before and d > p.overbought:
            strength = 0.5 + 0.5 * ((d - p.overbought) / (100.0 - p.overbought))
            return Signal(DOWN, min(1.0, strength), DOWN_REASON)
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> SignalArrays:
        stoch = indicators[self._stoch.key]
        k, d = output(stoch, 0), output(stoch, 1)
        k_before, d_before = previous(k), previous(d)
        p = self.params
        up = (k > d) & (k_before <= d_before) & (d < p.oversold)
        down = (k < d) & (k_before >= d_before) & (d > p.overbought)
        up_strength = np.minimum(1.0, 0.5 + 0.5 * ((p.oversold - d) / p.oversold))
        down_strength = np.minimum(1.0, 0.5 + 0.5 * ((d - p.overbought) / (100.0 - p.overbought)))
        return signals(up, down, up_strength, down_strength)
