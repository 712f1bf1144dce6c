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
import numpy.typing as npt

from moonlight.indicators._define import implement
from moonlight.indicators._jit import jit
from moonlight.indicators._kernels import begin1, begin2, begin4, fill_nan, fma

FloatArray = npt.NDArray[np.float64]

NAN = math.nan


@jit
def obv_kernel(real: FloatArray, volume: FloatArray, out: FloatArray) -> None:
    """On Balance Volume: add the volume on an up bar, subtract it on a down bar.

    Starts from the first bar's volume, as TA-Lib does; no warm-up.
    """
    n = real.shape[0]
    if n == 0:
        return
    first = begin2(real, volume)
    fill_nan(out, first)
    rs = real[first:]
    vs = volume[first:]
    os = out[first:]
    prev_obv = vs[0]
    prev_real = rs[0]
    for i in range(n - first):
        tmp = rs[i]
        if tmp > prev_real:
            prev_obv += vs[i]
        elif tmp < prev_real:
            prev_obv -= vs[i]
        os[i] = prev_obv
        prev_real = tmp


@jit
def ad_accumulate(ad: float, high: float, low: float, close: float, volume: float) -> float:
    """One bar of the Chaikin A/D line: the money-flow volume added to the running total."""
    tmp = high - low
    if tmp > 0.0:
        ad += (close - low - (high - close)) / tmp * volume
    return ad


@jit
def ad_kernel(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, out: FloatArray
) -> None:
    """Chaikin Accumulation/Distribution line (cumulative from the first valid bar)."""
    n = high.shape[0]
    if n == 0:
        return
    first = begin4(high, low, close, volume)
    fill_nan(out, first)
    hs = high[first:]
    ls = low[first:]
    cs = close[first:]
    vs = volume[first:]
    os = out[first:]
    ad = 0.0
    for i in range(n - first):
        ad = ad_accumulate(ad, hs[i], ls[i], cs[i], vs[i])
        os[i] = ad


@jit
def adosc_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    fastperiod: int,
    slowperiod: int,
    ema_unstable: int,
    out: FloatArray,
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
    first = begin4(high, low, close, volume)
    start = first + lookback
    fill_nan(out, start)
    if start >= n:
        return
    fastk = 2.0 / (fastperiod + 1.0)
    one_minus_fastk = 1.0 - fastk
    slowk = 2.0 / (slowperiod + 1.0)
    one_minus_slowk = 1.0 - slowk
    hs = high[first:]
    ls = low[first:]
    cs = close[first:]
    vs = volume[first:]
    ad = ad_accumulate(0.0, hs[0], ls[0], cs[0], vs[0])
    fast_ema = ad
    slow_ema = ad
    for i in range(1, lookback):
        ad = ad_accumulate(ad, hs[i], ls[i], cs[i], vs[i])
        fast_ema = fma(one_minus_fastk, fast_ema, fastk * ad)
        slow_ema = fma(one_minus_slowk, slow_ema, slowk * ad)
    os = out[first:]
    for i in range(lookback, n - first):
        ad = ad_accumulate(ad, hs[i], ls[i], cs[i], vs[i])
        fast_ema = fma(one_minus_fastk, fast_ema, fastk * ad)
        slow_ema = fma(one_minus_slowk, slow_ema, slowk * ad)
        os[i] = fast_ema - slow_ema


@jit
def vwap_kernel(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, out: FloatArray
) -> None:
    """Cumulative VWAP, ``sum(typical price * volume) / sum(volume)`` from the first valid bar.

    A bar with a non-finite typical price or volume is left out of both sums; before any
    volume has traded the output is 0.0 (TA-Lib never emits NaN here).
    """
    n = high.shape[0]
    if n == 0:
        return
    first = begin4(high, low, close, volume)
    fill_nan(out, first)
    hs = high[first:]
    ls = low[first:]
    cs = close[first:]
    vs = volume[first:]
    os = out[first:]
    sum_pv = 0.0
    sum_v = 0.0
    vwap = 0.0
    for i in range(n - first):
        typ = (hs[i] + ls[i] + cs[i]) / 3.0
        vol = vs[i]
        pv = typ * vol
        if math.isfinite(typ) and math.isfinite(vol):
            sum_pv += pv
            sum_v += vol
        if sum_v > 0.0:
            vwap = sum_pv / sum_v
        os[i] = vwap


@jit
def ieee_divide(a: float, b: float) -> float:
    """``a / b`` with IEEE-754 results for a zero divisor (NaN, ±inf), never a warning.

    Compiled, this is a plain division behind a predictable branch; under
    ``NUMBA_DISABLE_JIT=1`` it keeps numpy from warning and Python from raising.
    """
    if b == 0.0:
        if a != a or a == 0.0:
            return NAN
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


@jit
def rvol_kernel(volume: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Relative volume: this bar's volume over the mean of the ``timeperiod`` bars before it."""
    n = volume.shape[0]
    if n == 0:
        return
    first = begin1(volume)
    start = first + timeperiod
    fill_nan(out, start)
    if start >= n:
        return
    vs = volume[first:]
    total = 0.0
    for i in range(timeperiod):
        total += vs[i]
    trailing = vs[: n - start]
    today_vs = vs[timeperiod:]
    os = out[start:]
    for i in range(n - start):
        baseline = total / timeperiod
        total -= trailing[i]
        today = today_vs[i]
        total += today
        os[i] = ieee_divide(today, baseline)


# ---------------------------------------------------------------------------------------------
# streams and declarations
# ---------------------------------------------------------------------------------------------


def obv_state() -> list[float]:
    """OBV stream: ``[started, obv, prev_real]``."""
    return [0.0, 0.0, NAN]


@jit
def obv_step(st: FloatArray, at: int, real: float, volume: float) -> float:
    """One OBV bar: starts at the first bar's volume, then adds or subtracts it."""
    s = st[at:]
    if s[0] == 0.0:
        s[0] = 1.0
        s[1] = volume
        s[2] = real
        return volume
    obv = s[1]
    if real > s[2]:
        obv += volume
    elif real < s[2]:
        obv -= volume
    s[1] = obv
    s[2] = real
    return obv  # type: ignore[no-any-return]


obv = implement("obv", globals())


def ad_state() -> list[float]:
    """A/D stream: ``[ad]``, the running total."""
    return [0.0]


@jit
def ad_step(st: FloatArray, at: int, high: float, low: float, close: float, volume: float) -> float:
    """One bar of the Chaikin A/D line."""
    ad = ad_accumulate(st[at], high, low, close, volume)
    st[at] = ad
    return ad


ad = implement("ad", globals())


def adosc_state(fastperiod: int = 3, slowperiod: int = 10, unstable: int = 0) -> list[float]:
    """ADOSC stream: ``[lookback, fast k, slow k, count, ad, fast EMA, slow EMA]``; both
    EMAs are seeded with the first A/D value."""
    lookback = max(fastperiod, slowperiod) - 1 + unstable
    factors = [2.0 / (fastperiod + 1.0), 2.0 / (slowperiod + 1.0)]
    return [float(lookback), *factors, 0.0, 0.0, 0.0, 0.0]


@jit
def adosc_step(
    st: FloatArray, at: int, high: float, low: float, close: float, volume: float
) -> float:
    """One Chaikin oscillator bar: both fused EMA steps on the A/D line."""
    s = st[at:]
    ad = ad_accumulate(s[4], high, low, close, volume)
    s[4] = ad
    i = s[3]
    if i == 0.0:
        s[3] = 1.0
        s[5] = ad
        s[6] = ad
        return NAN
    fastk = s[1]
    slowk = s[2]
    fast = fma(1.0 - fastk, s[5], fastk * ad)
    slow = fma(1.0 - slowk, s[6], slowk * ad)
    s[5] = fast
    s[6] = slow
    if i < s[0]:
        s[3] = i + 1.0
        return NAN
    return fast - slow


adosc = implement("adosc", globals())


def vwap_state() -> list[float]:
    """VWAP stream: ``[sum_pv, sum_v, vwap]``."""
    return [0.0, 0.0, 0.0]


@jit
def vwap_step(
    st: FloatArray, at: int, high: float, low: float, close: float, volume: float
) -> float:
    """One cumulative VWAP bar: the two running sums, non-finite bars left out."""
    s = st[at:]
    typical = (high + low + close) / 3.0
    pv = typical * volume
    if math.isfinite(typical) and math.isfinite(volume):
        s[0] += pv
        s[1] += volume
    if s[1] > 0.0:
        s[2] = s[0] / s[1]
    return s[2]  # type: ignore[no-any-return]


vwap = implement("vwap", globals())


def rvol_state(timeperiod: int = 20) -> list[float]:
    """RVOL stream: ``[period, count, pos, total, ring(period)]`` of volumes."""
    return [float(timeperiod), 0.0, 0.0, 0.0, *([0.0] * timeperiod)]


@jit
def rvol_step(st: FloatArray, at: int, volume: float) -> float:
    """One relative-volume bar: over the mean of the previous ``timeperiod`` volumes."""
    s = st[at:]
    period = int(s[0])
    i = int(s[1])
    if i < period:
        s[1] = i + 1
        s[4 + i] = volume
        s[3] += volume
        return NAN
    pos = int(s[2])
    total = s[3]
    baseline = total / period
    total -= s[4 + pos]
    total += volume
    s[3] = total
    s[4 + pos] = volume
    pos += 1
    s[2] = 0 if pos == period else pos
    return ieee_divide(volume, baseline)


rvol = implement("rvol", globals())
