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
from numba import prange

from moonlight.indicators._define import Stream, define, int_param
from moonlight.indicators._jit import jit, parallel_jit
from moonlight.indicators._kernels import begin1, begin2, begin4, fill_nan
from moonlight.indicators.volatility import LazyEntry, fma

FloatArray = npt.NDArray[np.float64]

NAN = math.nan

_SOURCE = "TA-Lib C 0.8.1 ta_{}.c via the ta-lib 0.8.2 Python wrapper"


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
def ad_step(ad: float, high: float, low: float, close: float, volume: float) -> float:
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
        ad = ad_step(ad, hs[i], ls[i], cs[i], vs[i])
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
    ad = ad_step(0.0, hs[0], ls[0], cs[0], vs[0])
    fast_ema = ad
    slow_ema = ad
    for i in range(1, lookback):
        ad = ad_step(ad, hs[i], ls[i], cs[i], vs[i])
        fast_ema = fma(one_minus_fastk, fast_ema, fastk * ad)
        slow_ema = fma(one_minus_slowk, slow_ema, slowk * ad)
    os = out[first:]
    for i in range(lookback, n - first):
        ad = ad_step(ad, hs[i], ls[i], cs[i], vs[i])
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


def _divide(a: float, b: float) -> float:
    """Pure-Python twin of :func:`ieee_divide` for the streams (Python raises on 0.0)."""
    if b == 0.0:
        if a != a or a == 0.0:
            return NAN
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _ad_step(ad: float, high: float, low: float, close: float, volume: float) -> float:
    """Pure-Python twin of :func:`ad_step`."""
    tmp = high - low
    if tmp > 0.0:
        ad += (close - low - (high - close)) / tmp * volume
    return ad


# ---------------------------------------------------------------------------------------------
# 2-D drivers
# ---------------------------------------------------------------------------------------------


@parallel_jit
def obv_kernel_2d(real: FloatArray, volume: FloatArray, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        obv_kernel(real[:, j], volume[:, j], out[:, j])


@parallel_jit
def ad_kernel_2d(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, out: FloatArray
) -> None:
    for j in prange(high.shape[1]):
        ad_kernel(high[:, j], low[:, j], close[:, j], volume[:, j], out[:, j])


@parallel_jit
def adosc_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    fastperiod: int,
    slowperiod: int,
    ema_unstable: int,
    out: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        adosc_kernel(
            high[:, j],
            low[:, j],
            close[:, j],
            volume[:, j],
            fastperiod,
            slowperiod,
            ema_unstable,
            out[:, j],
        )


@parallel_jit
def vwap_kernel_2d(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, out: FloatArray
) -> None:
    for j in prange(high.shape[1]):
        vwap_kernel(high[:, j], low[:, j], close[:, j], volume[:, j], out[:, j])


@parallel_jit
def rvol_kernel_2d(volume: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(volume.shape[1]):
        rvol_kernel(volume[:, j], timeperiod, out[:, j])


# ---------------------------------------------------------------------------------------------
# streams and declarations
# ---------------------------------------------------------------------------------------------


class ObvStream(Stream):
    """Incremental OBV: starts at the first bar's volume, then adds or subtracts it."""

    __slots__ = ("_obv", "_prev_real", "_started")

    def __init__(self) -> None:
        self._started = False
        self._obv = 0.0
        self._prev_real = NAN

    def update(self, real: float, volume: float) -> float:
        if not self._started:
            self._started = True
            self._obv = volume
            self._prev_real = real
            return volume
        obv = self._obv
        if real > self._prev_real:
            obv += volume
        elif real < self._prev_real:
            obv -= volume
        self._obv = obv
        self._prev_real = real
        return obv


obv = define(
    "obv",
    group="volume",
    summary="On Balance Volume",
    inputs=("real", "volume"),
    outputs=("real",),
    params=(),
    lookback=lambda: 0,
    kernel=obv_kernel,
    kernel_2d=obv_kernel_2d,
    stream=ObvStream,
    source=_SOURCE.format("OBV"),
)


class AdStream(Stream):
    """Incremental Chaikin A/D line: the running total of money-flow volume."""

    __slots__ = ("_ad",)

    def __init__(self) -> None:
        self._ad = 0.0

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        ad = _ad_step(self._ad, high, low, close, volume)
        self._ad = ad
        return ad


ad = define(
    "ad",
    group="volume",
    summary="Chaikin Accumulation/Distribution line",
    inputs=("high", "low", "close", "volume"),
    outputs=("real",),
    params=(),
    lookback=lambda: 0,
    kernel=ad_kernel,
    kernel_2d=ad_kernel_2d,
    stream=AdStream,
    source=_SOURCE.format("AD"),
)


@jit
def ema_pair(
    fast: float, slow: float, value: float, fastk: float, slowk: float
) -> tuple[float, float]:
    """Both ADOSC EMA steps, fused as TA-Lib 0.8's build fuses them (stream helper)."""
    return fma(1.0 - fastk, fast, fastk * value), fma(1.0 - slowk, slow, slowk * value)


@jit
def adosc_steady_step(
    st: FloatArray, high: float, low: float, close: float, volume: float
) -> float:
    """One ADOSC bar for the stream's steady state, ``st = [ad, fast, slow, fastk, slowk]``."""
    ad = ad_step(st[0], high, low, close, volume)
    fastk = st[3]
    slowk = st[4]
    fast = fma(1.0 - fastk, st[1], fastk * ad)
    slow = fma(1.0 - slowk, st[2], slowk * ad)
    st[0] = ad
    st[1] = fast
    st[2] = slow
    return fast - slow


class AdoscStream(Stream):
    """Incremental Chaikin oscillator: two EMAs of the A/D line seeded with its first value."""

    __slots__ = ("_ad", "_count", "_fast", "_fastk", "_lookback", "_slow", "_slowk", "_st")

    _ema_pair = LazyEntry(ema_pair)

    def __init__(self, fastperiod: int, slowperiod: int, unstable: int = 0) -> None:
        self._lookback = max(fastperiod, slowperiod) - 1 + unstable
        self._fastk = 2.0 / (fastperiod + 1.0)
        self._slowk = 2.0 / (slowperiod + 1.0)
        self._count = 0
        self._ad = 0.0
        self._fast = 0.0
        self._slow = 0.0
        self._st: FloatArray | None = None

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        ad = _ad_step(self._ad, high, low, close, volume)
        self._ad = ad
        i = self._count
        if i == 0:
            self._count = 1
            self._fast = ad
            self._slow = ad
            return NAN
        fast: float
        slow: float
        fast, slow = self._ema_pair(self._fast, self._slow, ad, self._fastk, self._slowk)
        self._fast = fast
        self._slow = slow
        if i < self._lookback:
            self._count = i + 1
            return NAN
        self._st = np.array([ad, fast, slow, self._fastk, self._slowk])
        self.__class__ = _AdoscSteady
        return fast - slow


class _AdoscSteady(AdoscStream):
    """ADOSC after the first value: every update is :func:`adosc_steady_step`."""

    __slots__ = ()

    _steady = LazyEntry(adosc_steady_step)

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        return self._steady(self._st, high, low, close, volume)  # type: ignore[no-any-return]


adosc = define(
    "adosc",
    group="volume",
    summary="Chaikin A/D Oscillator (fast EMA - slow EMA of the A/D line)",
    inputs=("high", "low", "close", "volume"),
    outputs=("real",),
    params=(int_param("fastperiod", 3, 2), int_param("slowperiod", 10, 2)),
    lookback=lambda fastperiod, slowperiod, unstable=0: max(fastperiod, slowperiod) - 1 + unstable,
    kernel=adosc_kernel,
    kernel_2d=adosc_kernel_2d,
    stream=AdoscStream,
    unstable=("EMA",),
    source=_SOURCE.format("ADOSC"),
)


class VwapStream(Stream):
    """Incremental cumulative VWAP: the two running sums, non-finite bars left out."""

    __slots__ = ("_sum_pv", "_sum_v", "_vwap")

    def __init__(self) -> None:
        self._sum_pv = 0.0
        self._sum_v = 0.0
        self._vwap = 0.0

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        typical = (high + low + close) / 3.0
        pv = typical * volume
        if math.isfinite(typical) and math.isfinite(volume):
            self._sum_pv += pv
            self._sum_v += volume
        if self._sum_v > 0.0:
            self._vwap = self._sum_pv / self._sum_v
        return self._vwap


vwap = define(
    "vwap",
    group="volume",
    summary="Volume Weighted Average Price, cumulative from the first bar (TA-Lib 0.8)",
    inputs=("high", "low", "close", "volume"),
    outputs=("real",),
    params=(),
    lookback=lambda: 0,
    kernel=vwap_kernel,
    kernel_2d=vwap_kernel_2d,
    stream=VwapStream,
    source=_SOURCE.format("VWAP") + "; see anchored_vwap for session/day/week anchors",
)


class RvolStream(Stream):
    """Incremental relative volume: ring buffer of the last ``timeperiod`` volumes."""

    __slots__ = ("_buf", "_count", "_period", "_pos", "_total")

    def __init__(self, timeperiod: int) -> None:
        self._period = timeperiod
        self._buf = [0.0] * timeperiod
        self._count = 0
        self._pos = 0
        self._total = 0.0

    def update(self, volume: float) -> float:
        period = self._period
        buf = self._buf
        i = self._count
        if i < period:
            self._count = i + 1
            buf[i] = volume
            self._total += volume
            return NAN
        pos = self._pos
        total = self._total
        baseline = total / period
        total -= buf[pos]
        total += volume
        self._total = total
        buf[pos] = volume
        pos += 1
        self._pos = 0 if pos == period else pos
        if baseline == 0.0:
            return _divide(volume, baseline)
        return volume / baseline


rvol = define(
    "rvol",
    group="volume",
    summary="Relative volume (volume / mean volume of the previous timeperiod bars)",
    inputs=("volume",),
    outputs=("real",),
    params=(int_param("timeperiod", 20, 1),),
    lookback=lambda timeperiod: timeperiod,
    kernel=rvol_kernel,
    kernel_2d=rvol_kernel_2d,
    stream=RvolStream,
    source=_SOURCE.format("RVOL"),
)
