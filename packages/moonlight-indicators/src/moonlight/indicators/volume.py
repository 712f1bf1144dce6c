"""Volume indicators: obv, ad, adosc, vwap (TA-Lib 0.8's cumulative VWAP) and rvol.

Each kernel follows TA-Lib 0.8.2 (C library 0.8.1) operation for operation, including what
happens on zero volume -- the EURUSD history in the test data has volume 0 on every bar:

* ``ad`` and ``adosc`` skip a bar whose ``high - low`` is not > 0 (so a flat or NaN bar adds
  nothing) and accumulate ``((close - low) - (high - close)) / (high - low) * volume``;
  adosc's EMA step ``k * ad + (1 - k) * ema`` is one fused multiply-add, as the C build does;
* ``vwap`` weighs a bar only when its typical price and volume are both finite, and carries
  the last value (0.0 before any volume has traded) while the volume total is 0;
* ``rvol`` divides the bar's volume by the mean of the previous ``timeperiod`` volumes kept
  as a running add/subtract total, so 0 / 0 gives NaN on a dead window -- and, as in TA-Lib,
  the rounding residue the running total keeps after the volume dies out gives 0.0 (or -0.0)
  instead of NaN on such a window.
"""

from __future__ import annotations

import math

import numpy as np

from moonlight.indicators._jit import jit
from moonlight.indicators.volatility import (
    fill_nan,
    first_valid2,
    first_valid4,
    fma,
)


@jit
def obv_kernel(real: np.ndarray, volume: np.ndarray, out: np.ndarray) -> None:
    """On Balance Volume: add the volume on an up bar, subtract it on a down bar.

    Starts from the first bar's volume, as TA-Lib does; no warm-up.
    """
    n = real.shape[0]
    if n == 0:
        return
    first = first_valid2(real, volume)
    fill_nan(out, first)
    prev_obv = volume[first]
    prev_real = real[first]
    for i in range(first, n):
        tmp = real[i]
        if tmp > prev_real:
            prev_obv += volume[i]
        elif tmp < prev_real:
            prev_obv -= volume[i]
        out[i] = prev_obv
        prev_real = tmp


@jit
def ad_step(ad: float, high: float, low: float, close: float, volume: float) -> float:
    """One bar of the Chaikin A/D line: the money-flow volume added to the running total."""
    tmp = high - low
    if tmp > 0.0:
        ad += (close - low - (high - close)) / tmp * volume
    return ad


@jit
def ad_kernel(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, out: np.ndarray
) -> None:
    """Chaikin Accumulation/Distribution line (cumulative from the first valid bar)."""
    n = high.shape[0]
    if n == 0:
        return
    first = first_valid4(high, low, close, volume)
    fill_nan(out, first)
    ad = 0.0
    for i in range(first, n):
        ad = ad_step(ad, high[i], low[i], close[i], volume[i])
        out[i] = ad


@jit
def adosc_kernel(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    fastperiod: int,
    slowperiod: int,
    ema_unstable: int,
    out: np.ndarray,
) -> None:
    """Chaikin A/D Oscillator: EMA(fastperiod) - EMA(slowperiod) of the A/D line.

    Both EMAs are seeded with the first A/D value (as Metastock does); the warm-up is the EMA
    lookback of the slower period, ``max(fast, slow) - 1 + unstable``.
    """
    n = high.shape[0]
    if n == 0:
        return
    slowest = fastperiod if fastperiod > slowperiod else slowperiod
    lookback = slowest - 1 + ema_unstable
    first = first_valid4(high, low, close, volume)
    start = first + lookback
    fill_nan(out, start)
    if start >= n:
        return
    fastk = 2.0 / (fastperiod + 1.0)
    one_minus_fastk = 1.0 - fastk
    slowk = 2.0 / (slowperiod + 1.0)
    one_minus_slowk = 1.0 - slowk
    ad = ad_step(0.0, high[first], low[first], close[first], volume[first])
    fast_ema = ad
    slow_ema = ad
    for t in range(first + 1, n):
        ad = ad_step(ad, high[t], low[t], close[t], volume[t])
        fast_ema = fma(one_minus_fastk, fast_ema, fastk * ad)
        slow_ema = fma(one_minus_slowk, slow_ema, slowk * ad)
        if t >= start:
            out[t] = fast_ema - slow_ema


@jit
def vwap_kernel(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, out: np.ndarray
) -> None:
    """Cumulative VWAP, ``sum(typical price * volume) / sum(volume)`` from the first valid bar.

    A bar with a non-finite typical price or volume is left out of both sums; before any
    volume has traded the output is 0.0 (TA-Lib never emits NaN here).
    """
    n = high.shape[0]
    if n == 0:
        return
    first = first_valid4(high, low, close, volume)
    fill_nan(out, first)
    sum_pv = 0.0
    sum_v = 0.0
    vwap = 0.0
    for i in range(first, n):
        typ = (high[i] + low[i] + close[i]) / 3.0
        vol = volume[i]
        pv = typ * vol
        if math.isfinite(typ) and math.isfinite(vol):
            sum_pv += pv
            sum_v += vol
        if sum_v > 0.0:
            vwap = sum_pv / sum_v
        out[i] = vwap


@jit
def rvol_kernel(volume: np.ndarray, timeperiod: int, out: np.ndarray) -> None:
    """Relative volume: this bar's volume over the mean of the ``timeperiod`` bars before it."""
    n = volume.shape[0]
    if n == 0:
        return
    first = 0
    while first < n - 1 and volume[first] != volume[first]:
        first += 1
    start = first + timeperiod
    fill_nan(out, start)
    if start >= n:
        return
    total = 0.0
    for i in range(first, start):
        total += volume[i]
    trailing = first
    for i in range(start, n):
        baseline = total / timeperiod
        total -= volume[trailing]
        trailing += 1
        today = volume[i]
        total += today
        out[i] = today / baseline
