"""Ichimoku trend: price clear of the cloud with the conversion line on its side.

Rule (bar just closed), with Ichimoku(``tenkan_period``, ``kijun_period``,
``senkou_period``, ``displacement``) -- the cloud at bar t is the leading spans computed
``displacement`` bars earlier, so nothing looks ahead:

* **up** when close > the top of the cloud (max of senkou A and B) and tenkan > kijun;
* **down** when close < the bottom of the cloud and tenkan < kijun;
* nothing inside the cloud or while ATR is 0.

Strength: 0.5 at the cloud's edge plus half the distance from it in units of
``full_atr`` ATRs, capped at 1. Intended for 5-minute to 1-hour bars (on 1-minute bars
the cloud is short-lived) with an expiry of 3–10 bars.
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

UP_REASON = "close above the Ichimoku cloud, tenkan above kijun"
DOWN_REASON = "close below the Ichimoku cloud, tenkan below kijun"


class IchimokuTrendParams(StrategyParams):
    """Parameters of :class:`IchimokuTrend`."""

    tenkan_period: int = Field(default=9, ge=1, le=500, description="Conversion line, bars.")
    kijun_period: int = Field(default=26, ge=1, le=500, description="Base line, bars.")
    senkou_period: int = Field(default=52, ge=1, le=1000, description="Leading span B, bars.")
    displacement: int = Field(default=26, ge=0, le=500, description="Cloud shift, bars.")
    atr_period: int = Field(default=14, ge=1, le=200, description="ATR period for strength.")
    full_atr: float = Field(
        default=1.0, gt=0, le=20, description="Distance from the cloud, in ATRs, for full strength."
    )

    @model_validator(mode="after")
    def _tenkan_shorter(self) -> IchimokuTrendParams:
        if self.tenkan_period >= self.kijun_period:
            raise ValueError("tenkan_period must be shorter than kijun_period")
        return self


class IchimokuTrend(BasicStrategy[IchimokuTrendParams]):
    """Trade with price outside the Ichimoku cloud (see the module docstring)."""

    name = "ichimoku_trend"
    summary = "Close outside the Ichimoku cloud with tenkan/kijun agreeing"
    params_model = IchimokuTrendParams
    reasons = ("", UP_REASON, DOWN_REASON)

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        p = self.params
        self._ichimoku = IndicatorNeed.of(
            "ichimoku",
            tenkanperiod=p.tenkan_period,
            kijunperiod=p.kijun_period,
            senkouperiod=p.senkou_period,
            displacement=p.displacement,
        )
        self._atr = IndicatorNeed.of("atr", timeperiod=p.atr_period)
        return (self._ichimoku, self._atr)

    @property
    def warmup_bars(self) -> int:
        """The first complete cloud, and four ATR periods for the ATR to settle."""
        p = self.params
        cloud = max(p.tenkan_period, p.kijun_period, p.senkou_period) - 1 + p.displacement
        return max(cloud, 4 * p.atr_period) + 1

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        lines: Any = indicators[self._ichimoku.key]
        tenkan, kijun, span_a, span_b = lines[0], lines[1], lines[2], lines[3]
        atr: Any = indicators[self._atr.key]
        if not atr > 0.0:
            return NO_SIGNAL
        close = bar.close
        top = max(span_a, span_b)
        bottom = min(span_a, span_b)
        full = self.params.full_atr
        if close > top and tenkan > kijun:
            strength = min(1.0, 0.5 + 0.5 * ((close - top) / atr / full))
            return Signal(UP, strength, UP_REASON)
        if close < bottom and tenkan < kijun:
            strength = min(1.0, 0.5 + 0.5 * ((bottom - close) / atr / full))
            return Signal(DOWN, strength, DOWN_REASON)
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> SignalArrays:
        lines = indicators[self._ichimoku.key]
        tenkan, kijun = output(lines, 0), output(lines, 1)
        span_a, span_b = output(lines, 2), output(lines, 3)
        atr = single(indicators[self._atr.key])
        close = prices["close"]
        full = self.params.full_atr
        # max/min as the streaming path computes them: built-in max(a, b) returns a
        # unless b > a, so a NaN span decides like this, not like np.maximum.
        top = np.where(span_b > span_a, span_b, span_a)
        bottom = np.where(span_b < span_a, span_b, span_a)
        live = atr > 0.0
        up = live & (close > top) & (tenkan > kijun)
        down = live & (close < bottom) & (tenkan < kijun)
        with np.errstate(divide="ignore", invalid="ignore"):
            up_strength = np.minimum(1.0, 0.5 + 0.5 * ((close - top) / atr / full))
            down_strength = np.minimum(1.0, 0.5 + 0.5 * ((bottom - close) / atr / full))
        return signals(up, down, up_strength, down_strength)
