"""Overlap studies: moving averages and bands drawn on the price scale.

TA-Lib-exact ports (TA-Lib C sources ``src/ta_func/ta_<NAME>.c``, called through the
ta-lib 0.8.2 Python wrapper): sma, ema, wma, dema, tema, trima, kama, t3, bbands, macd,
linearreg, stoch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import prange

from moonlight.indicators import _ma
from moonlight.indicators._define import Stream, compiled, define, float_param, int_param
from moonlight.indicators._jit import jit, parallel_jit
from moonlight.indicators._kernels import begin1, begin3, fill_nan
from moonlight.indicators.momentum import EPSILON as FLAT_EPSILON
from moonlight.indicators.momentum import BlockExtremes, _block_scan, _extreme_value_py

FloatArray = npt.NDArray[np.float64]

_TA = "TA-Lib C ta_{}.c via the ta-lib 0.8.2 Python wrapper"
NAN = math.nan
NAN3 = (NAN, NAN, NAN)
NAN2 = (NAN, NAN)

#: MA types a ``matype`` parameter accepts: TA-Lib's 0..8 (7, MAMA, is refused by check).
_MATYPE_MAX = 8
_MA_UNSTABLE = ("EMA", "KAMA", "T3")

# ---------------------------------------------------------------------------------------
# sma
# ---------------------------------------------------------------------------------------


@jit
def sma_kernel(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Simple moving average of ``real`` over ``timeperiod`` bars into ``out``."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + timeperiod - 1
    fill_nan(out, first)
    _ma.sma_core(real[beg:], 0, n - beg - 1, timeperiod, out[first:])


@parallel_jit
def sma_kernel_2d(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        sma_kernel(real[:, j], timeperiod, out[:, j])


sma = define(
    "sma",
    group="overlap",
    summary="Simple moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=_ma.sma_lookback,
    kernel=sma_kernel,
    kernel_2d=sma_kernel_2d,
    stream=_ma.SmaStream,
    source=_TA.format("SMA"),
)

# ---------------------------------------------------------------------------------------
# ema
# ---------------------------------------------------------------------------------------


@jit
def ema_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Exponential moving average (k = 2/(timeperiod+1), seeded with the SMA)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + timeperiod - 1 + unstable
    fill_nan(out, first)
    k = 2.0 / (timeperiod + 1)
    _ma.ema_core(real[beg:], 0, n - beg - 1, timeperiod, k, unstable, out[first:])


@parallel_jit
def ema_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        ema_kernel(real[:, j], timeperiod, unstable, out[:, j])


ema = define(
    "ema",
    group="overlap",
    summary="Exponential moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=_ma.ema_lookback,
    kernel=ema_kernel,
    kernel_2d=ema_kernel_2d,
    stream=_ma.EmaStream,
    source=_TA.format("EMA"),
    unstable=("EMA",),
)

# ---------------------------------------------------------------------------------------
# wma
# ---------------------------------------------------------------------------------------


@jit
def wma_kernel(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Linearly weighted moving average (weights 1..timeperiod, newest heaviest)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + timeperiod - 1
    fill_nan(out, first)
    _ma.wma_core(real[beg:], 0, n - beg - 1, timeperiod, out[first:])


@parallel_jit
def wma_kernel_2d(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        wma_kernel(real[:, j], timeperiod, out[:, j])


wma = define(
    "wma",
    group="overlap",
    summary="Weighted moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=lambda timeperiod: timeperiod - 1,
    kernel=wma_kernel,
    kernel_2d=wma_kernel_2d,
    stream=_ma.WmaStream,
    source=_TA.format("WMA"),
)

# ---------------------------------------------------------------------------------------
# dema
# ---------------------------------------------------------------------------------------


@jit
def dema_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Double EMA (Mulloy): 2*EMA - EMA(EMA)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + 2 * (timeperiod - 1 + unstable)
    fill_nan(out, first)
    _ma.dema_core(real[beg:], 0, n - beg - 1, timeperiod, unstable, out[first:])


@parallel_jit
def dema_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        dema_kernel(real[:, j], timeperiod, unstable, out[:, j])


dema = define(
    "dema",
    group="overlap",
    summary="Double exponential moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=lambda timeperiod, unstable: 2 * (timeperiod - 1 + unstable),
    kernel=dema_kernel,
    kernel_2d=dema_kernel_2d,
    stream=_ma.DemaStream,
    source=_TA.format("DEMA"),
    unstable=("EMA",),
)

# ---------------------------------------------------------------------------------------
# tema
# ---------------------------------------------------------------------------------------


@jit
def tema_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Triple EMA (Mulloy): 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA))."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + 3 * (timeperiod - 1 + unstable)
    fill_nan(out, first)
    _ma.tema_core(real[beg:], 0, n - beg - 1, timeperiod, unstable, out[first:])


@parallel_jit
def tema_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        tema_kernel(real[:, j], timeperiod, unstable, out[:, j])


tema = define(
    "tema",
    group="overlap",
    summary="Triple exponential moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=lambda timeperiod, unstable: 3 * (timeperiod - 1 + unstable),
    kernel=tema_kernel,
    kernel_2d=tema_kernel_2d,
    stream=_ma.TemaStream,
    source=_TA.format("TEMA"),
    unstable=("EMA",),
)

# ---------------------------------------------------------------------------------------
# trima
# ---------------------------------------------------------------------------------------


@jit
def trima_kernel(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Triangular moving average (an SMA of an SMA, computed in one pass)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + timeperiod - 1
    fill_nan(out, first)
    _ma.trima_core(real[beg:], 0, n - beg - 1, timeperiod, out[first:])


@parallel_jit
def trima_kernel_2d(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        trima_kernel(real[:, j], timeperiod, out[:, j])


trima = define(
    "trima",
    group="overlap",
    summary="Triangular moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=lambda timeperiod: timeperiod - 1,
    kernel=trima_kernel,
    kernel_2d=trima_kernel_2d,
    stream=_ma.TrimaStream,
    source=_TA.format("TRIMA"),
)

# ---------------------------------------------------------------------------------------
# kama
# ---------------------------------------------------------------------------------------


@jit
def kama_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Kaufman adaptive moving average (fast 2, slow 30, efficiency over timeperiod)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + (unstable if timeperiod == 1 else timeperiod + unstable)
    fill_nan(out, first)
    _ma.kama_core(real[beg:], 0, n - beg - 1, timeperiod, unstable, out[first:])


@parallel_jit
def kama_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        kama_kernel(real[:, j], timeperiod, unstable, out[:, j])


kama = define(
    "kama",
    group="overlap",
    summary="Kaufman adaptive moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=_ma.kama_lookback,
    kernel=kama_kernel,
    kernel_2d=kama_kernel_2d,
    stream=_ma.KamaStream,
    source=_TA.format("KAMA"),
    unstable=("KAMA",),
)

# ---------------------------------------------------------------------------------------
# t3
# ---------------------------------------------------------------------------------------


@jit
def t3_kernel(
    real: FloatArray, timeperiod: int, vfactor: float, unstable: int, out: FloatArray
) -> None:
    """Tillson T3: six cascaded EMAs combined with the volume factor ``vfactor``."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + 6 * (timeperiod - 1) + unstable
    fill_nan(out, first)
    _ma.t3_core(real[beg:], 0, n - beg - 1, timeperiod, vfactor, unstable, out[first:])


@parallel_jit
def t3_kernel_2d(
    real: FloatArray, timeperiod: int, vfactor: float, unstable: int, out: FloatArray
) -> None:
    for j in prange(real.shape[1]):
        t3_kernel(real[:, j], timeperiod, vfactor, unstable, out[:, j])


t3 = define(
    "t3",
    group="overlap",
    summary="Tillson T3 moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 5, 1), float_param("vfactor", 0.7, 0.0, 1.0)),
    lookback=lambda timeperiod, vfactor, unstable: 6 * (timeperiod - 1) + unstable,
    kernel=t3_kernel,
    kernel_2d=t3_kernel_2d,
    stream=_ma.T3Stream,
    source=_TA.format("T3"),
    unstable=("T3",),
)

# ---------------------------------------------------------------------------------------
# bbands
# ---------------------------------------------------------------------------------------

#: TA-Lib's variance rebuilds its shifted sums every ``32 * period`` bars at the latest.
VAR_RESEED = 32


@jit
def _variance_reseed(x: FloatArray, first: int, last: int, inv: float) -> tuple[float, ...]:
    """Shift to the window mean and rebuild (sum1, sum2) over ``x[first..last]``."""
    total = 0.0
    for j in range(first, last + 1):
        total += x[j]
    shift = total * inv
    sum1 = 0.0
    sum2 = 0.0
    for j in range(first, last + 1):
        dev = x[j] - shift
        sum1 += dev
        dev *= dev
        sum2 += dev
    return shift, sum1, sum2


@jit
def variance_core(
    x: FloatArray, start: int, end: int, period: int, out: FloatArray
) -> tuple[int, int]:
    """``TA_VAR`` (nbdev 1) of TA-Lib 0.8: shifted running sums with reseeding.

    The sums are kept relative to a shift (first the window's oldest value, after a
    reseed the window mean) and rebuilt when the variance collapses relative to the
    sums, when a departing value dominates them, or every ``32 * period`` bars.
    """
    lookback = period - 1
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
    inv = 1.0 / period
    trailing = start - lookback
    shift = x[trailing]
    sum1 = 0.0
    sum2 = 0.0
    for j in range(trailing, start):
        dev = x[j] - shift
        sum1 += dev
        dev *= dev
        sum2 += dev
    bars = VAR_RESEED * period
    m = 0
    for i in range(start, end + 1):
        dev = x[i] - shift
        sum1 += dev
        dev *= dev
        sum2 += dev
        mean = sum1 * inv
        variance = sum2 * inv - mean * mean
        dev = x[trailing] - shift
        sum1 -= dev
        dev *= dev
        sum2 -= dev
        trailing += 1
        bars -= 1
        if variance < 0.000001 * (sum2 * inv) or dev > 1000000.0 * sum2 or bars <= 0:
            bars = VAR_RESEED * period
            first = i - lookback
            shift, sum1, sum2 = _variance_reseed(x, first, i, inv)
            mean = sum1 * inv
            variance = sum2 * inv - mean * mean
            dev = x[first] - shift
            sum1 -= dev
            dev *= dev
            sum2 -= dev
        out[m] = variance
        m += 1
    return start, m


@jit
def _bands(variance: float, mid: float, up: float, down: float) -> tuple[float, float, float]:
    """Upper, middle and lower band from the variance, in TA-Lib's operation order."""
    std = math.sqrt(variance) if not variance <= 0.0 else 0.0
    if up == down:
        band = std * up
        return mid + band, mid, mid - band
    return mid + std * up, mid, mid - std * down


@jit
def _bbands_sma(
    x: FloatArray,
    period: int,
    up: float,
    down: float,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    """TA-Lib's BBANDS SMA fast path: the SMA running sum and TA_VAR's shifted sums in
    one pass over ``x`` (outputs from bar ``period - 1``)."""
    lookback = period - 1
    last = x.shape[0] - 1
    inv = 1.0 / period
    shift = x[0]
    total = 0.0
    sum1 = 0.0
    sum2 = 0.0
    for j in range(lookback):
        total += x[j]
        dev = x[j] - shift
        sum1 += dev
        dev *= dev
        sum2 += dev
    bars = VAR_RESEED * period
    for i in range(lookback, last + 1):
        value = x[i]
        total += value
        mid = total / period
        leaving = x[i - lookback]
        total -= leaving
        dev = value - shift
        sum1 += dev
        dev *= dev
        sum2 += dev
        mean = sum1 * inv
        variance = sum2 * inv - mean * mean
        dev = leaving - shift
        sum1 -= dev
        dev *= dev
        sum2 -= dev
        bars -= 1
        if variance < 0.000001 * (sum2 * inv) or dev > 1000000.0 * sum2 or bars <= 0:
            bars = VAR_RESEED * period
            first = i - lookback
            shift, sum1, sum2 = _variance_reseed(x, first, i, inv)
            mean = sum1 * inv
            variance = sum2 * inv - mean * mean
            dev = x[first] - shift
            sum1 -= dev
            dev *= dev
            sum2 -= dev
        upper[i], middle[i], lower[i] = _bands(variance, mid, up, down)


@jit
def bbands_kernel(
    real: FloatArray,
    timeperiod: int,
    nbdevup: float,
    nbdevdn: float,
    matype: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
    upperband: FloatArray,
    middleband: FloatArray,
    lowerband: FloatArray,
) -> None:
    """Bollinger Bands: MA(matype) +/- nbdev * population standard deviation."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    lookback = _ma.ma_lookback(timeperiod, matype, ema_unstable, kama_unstable, t3_unstable)
    if lookback < timeperiod - 1:
        lookback = timeperiod - 1
    first = beg + lookback
    x = real[beg:]
    last = n - beg - 1
    if matype == 0 and lookback <= last:
        _bbands_sma(
            x, timeperiod, nbdevup, nbdevdn, upperband[beg:], middleband[beg:], lowerband[beg:]
        )
    elif lookback <= last:
        # Middle band into `middleband`, variance into `upperband` (as scratch).
        _ma.ma_core(
            x,
            0,
            last,
            timeperiod,
            matype,
            ema_unstable,
            kama_unstable,
            t3_unstable,
            middleband[first:],
        )
        variance_core(x, lookback, last, timeperiod, upperband[first:])
        for i in range(first, n):
            variance = upperband[i]
            std = math.sqrt(variance) if not variance <= 0.0 else 0.0
            mid = middleband[i]
            if nbdevup == nbdevdn:
                band = std * nbdevup
                upperband[i] = mid + band
                lowerband[i] = mid - band
            else:
                upperband[i] = mid + std * nbdevup
                lowerband[i] = mid - std * nbdevdn
    fill_nan(upperband, first)
    fill_nan(middleband, first)
    fill_nan(lowerband, first)


@parallel_jit
def bbands_kernel_2d(
    real: FloatArray,
    timeperiod: int,
    nbdevup: float,
    nbdevdn: float,
    matype: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
    upperband: FloatArray,
    middleband: FloatArray,
    lowerband: FloatArray,
) -> None:
    for j in prange(real.shape[1]):
        bbands_kernel(
            real[:, j],
            timeperiod,
            nbdevup,
            nbdevdn,
            matype,
            ema_unstable,
            kama_unstable,
            t3_unstable,
            upperband[:, j],
            middleband[:, j],
            lowerband[:, j],
        )


class BbandsStream(Stream):
    """Incremental Bollinger Bands: the MA (inline for SMA, TA-Lib's fast path) and the
    shifted-sum variance with TA-Lib's reseed triggers, started at TA-Lib's bar.

    The warm-up class is general; on the first output the stream becomes
    ``_BbandsSmaSteady`` (matype 0) or ``_BbandsSteady`` (other MA types).
    """

    __slots__ = (
        "_bar",
        "_bars",
        "_buf",
        "_count",
        "_dn",
        "_inv",
        "_lookback",
        "_ma",
        "_period",
        "_pos",
        "_shift",
        "_st",
        "_sum1",
        "_sum2",
        "_up",
        "_var_from",
    )

    def __init__(
        self,
        timeperiod: int = 20,
        nbdevup: float = 2.0,
        nbdevdn: float = 2.0,
        matype: int = 0,
        ema_unstable: int = 0,
        kama_unstable: int = 0,
        t3_unstable: int = 0,
    ) -> None:
        lookback = _ma.ma_lookback_py(timeperiod, matype, ema_unstable, kama_unstable, t3_unstable)
        self._lookback = max(lookback, timeperiod - 1)
        self._var_from = self._lookback - (timeperiod - 1)
        self._ma = _ma.ma_stream(timeperiod, matype, ema_unstable, kama_unstable, t3_unstable)
        self._up = nbdevup
        self._dn = nbdevdn
        self._period = timeperiod
        self._inv = 1.0 / timeperiod
        self._buf = [0.0] * timeperiod
        self._pos = 0
        self._count = 0
        self._shift = 0.0
        self._sum1 = 0.0
        self._sum2 = 0.0
        self._bars = VAR_RESEED * timeperiod
        self._bar = 0
        self._st = np.zeros(0)

    def update(self, real: float) -> tuple[float, float, float]:
        bar = self._bar
        self._bar = bar + 1
        mid = self._ma.update(real)
        if bar < self._var_from:
            return NAN3
        count = self._count
        if count < self._period - 1:
            # Prime the variance window (shift = its first value), as TA_VAR does.
            if count == 0:
                self._shift = real
            self._buf[count] = real
            self._pos = count + 1
            dev = real - self._shift
            self._sum1 += dev
            self._sum2 += dev * dev
            self._count = count + 1
            return NAN3
        self._count = self._period
        sma = isinstance(self._ma, _ma.SmaStream)
        # SmaStream shares this window: take over its running sum (TA-Lib fast path),
        # after this bar's update (the step below must not add the bar a second time).
        total = self._ma._total if sma else 0.0  # type: ignore[attr-defined]
        header = [self._pos, 0.0, self._shift, self._sum1, self._sum2, self._bars]
        params = [self._period, self._inv, self._up, self._dn]
        self._st = np.array([*header, *params, *self._buf], dtype=np.float64)
        bands = bbands_step(self._st, real, mid, False)
        self._st[1] = total
        self.__class__ = _BbandsSmaSteady if sma else _BbandsSteady
        return bands


class _BbandsSteady(BbandsStream):
    __slots__ = ()

    def update(self, real: float) -> tuple[float, float, float]:
        return self._step(self._st, real, self._ma.update(real), False)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, x: float, mid: float, sma: bool) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _BbandsSteady._step = staticmethod(compiled(bbands_step, st, 0.0, 0.0, False))  # type: ignore[method-assign]
        return bbands_step(st, x, mid, sma)


class _BbandsSmaSteady(_BbandsSteady):
    __slots__ = ()

    def update(self, real: float) -> tuple[float, float, float]:
        return self._step(self._st, real, 0.0, True)  # type: ignore[no-any-return]


@jit
def bbands_step(st: FloatArray, x: float, mid: float, sma: bool) -> tuple[float, float, float]:
    """One steady Bollinger bar on
    ``st = [pos, total, shift, sum1, sum2, bars, period, inv, up, dn, buf..]``.

    With ``sma`` the middle band is TA_INT_SMA's running sum on the variance window
    (TA-Lib's BBANDS fast path); otherwise ``mid`` comes from the MA stream.
    """
    period = int(st[6])
    inv = st[7]
    pos = int(st[0])
    st[10 + pos] = x
    pos += 1
    if pos == period:
        pos = 0
    st[0] = pos
    oldest = st[10 + pos]
    if sma:
        total = st[1] + x
        mid = total / period
        st[1] = total - oldest
    shift = st[2]
    dev = x - shift
    sum1 = st[3] + dev
    dev *= dev
    sum2 = st[4] + dev
    mean = sum1 * inv
    variance = sum2 * inv - mean * mean
    dev = oldest - shift
    sum1 -= dev
    dev *= dev
    sum2 -= dev
    bars = st[5] - 1
    if variance < 0.000001 * (sum2 * inv) or dev > 1000000.0 * sum2 or bars <= 0:
        bars = VAR_RESEED * period
        total = 0.0
        for j in range(period):
            total += st[10 + (pos + j) % period]
        shift = total * inv
        sum1 = 0.0
        sum2 = 0.0
        for j in range(period):
            dev = st[10 + (pos + j) % period] - shift
            sum1 += dev
            dev *= dev
            sum2 += dev
        mean = sum1 * inv
        variance = sum2 * inv - mean * mean
        dev = oldest - shift
        sum1 -= dev
        dev *= dev
        sum2 -= dev
        st[2] = shift
    st[5] = bars
    st[3] = sum1
    st[4] = sum2
    std = math.sqrt(variance) if not variance <= 0.0 else 0.0
    up = st[8]
    if up == st[9]:
        band = std * up
        return mid + band, mid, mid - band
    return mid + std * up, mid, mid - std * st[9]


def _bbands_lookback(
    timeperiod: int,
    nbdevup: float,
    nbdevdn: float,
    matype: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
) -> int:
    ma = _ma.ma_lookback_py(timeperiod, matype, ema_unstable, kama_unstable, t3_unstable)
    return max(ma, timeperiod - 1)


def _check_matype(**params: Any) -> None:
    for name, value in params.items():
        if name.endswith("matype"):
            _ma.check_matype(name, value)


bbands = define(
    "bbands",
    group="overlap",
    summary="Bollinger Bands",
    inputs=("real",),
    outputs=("upperband", "middleband", "lowerband"),
    params=(
        int_param("timeperiod", 20, 2),
        float_param("nbdevup", 2.0, 0.0, 3e37),
        float_param("nbdevdn", 2.0, 0.0, 3e37),
        int_param("matype", 0, 0, _MATYPE_MAX),
    ),
    lookback=_bbands_lookback,
    kernel=bbands_kernel,
    kernel_2d=bbands_kernel_2d,
    stream=BbandsStream,
    source=_TA.format("BBANDS") + "; J. Bollinger, Bollinger on Bollinger Bands (2001)",
    check=_check_matype,
    unstable=_MA_UNSTABLE,
)

# ---------------------------------------------------------------------------------------
# macd
# ---------------------------------------------------------------------------------------


@jit
def macd_kernel(
    real: FloatArray,
    fastperiod: int,
    slowperiod: int,
    signalperiod: int,
    unstable: int,
    macd: FloatArray,
    macdsignal: FloatArray,
    macdhist: FloatArray,
) -> None:
    """MACD: EMA(fast) - EMA(slow), its EMA(signal), and their difference (TA_INT_MACD).

    One lockstep pass with TA-Lib's alignment: the slow EMA is seeded on the first
    ``slowperiod`` bars, the fast one on the ``fastperiod`` bars ending at the same bar,
    the MACD line starts at bar ``slowperiod - 1 + unstable`` and seeds the signal EMA.
    """
    n = real.shape[0]
    if n == 0:
        return
    if slowperiod < fastperiod:
        fastperiod, slowperiod = slowperiod, fastperiod
    beg = begin1(real)
    lookback_signal = signalperiod - 1 + unstable
    t0 = slowperiod - 1 + unstable  # first bar of the MACD line (relative to beg)
    lookback = t0 + lookback_signal
    first = beg + lookback
    fill_nan(macd, first)
    fill_nan(macdsignal, first)
    fill_nan(macdhist, first)
    x = real[beg:]
    last = n - beg - 1
    if lookback > last:
        return
    k_slow = 2.0 / (slowperiod + 1)
    k_fast = 2.0 / (fastperiod + 1)
    k_signal = 2.0 / (signalperiod + 1)
    total = 0.0
    for i in range(slowperiod):
        total += x[i]
    slow = total / slowperiod
    total = 0.0
    for i in range(slowperiod - fastperiod, slowperiod):
        total += x[i]
    fast = total / fastperiod
    for i in range(slowperiod, t0 + 1):
        value = x[i]
        slow = (value - slow) * k_slow + slow
        fast = (value - fast) * k_fast + fast
    # Seed the signal EMA with the first signalperiod MACD values.
    line = fast - slow
    total = 0.0
    total += line
    for i in range(t0 + 1, t0 + signalperiod):
        value = x[i]
        slow = (value - slow) * k_slow + slow
        fast = (value - fast) * k_fast + fast
        line = fast - slow
        total += line
    signal = total / signalperiod
    seed_bar = t0 + signalperiod - 1
    if seed_bar == lookback:
        macd[first] = line
        macdsignal[first] = signal
        macdhist[first] = line - signal
    for i in range(seed_bar + 1, last + 1):
        value = x[i]
        slow = (value - slow) * k_slow + slow
        fast = (value - fast) * k_fast + fast
        line = fast - slow
        signal = (line - signal) * k_signal + signal
        if i >= lookback:
            at = beg + i
            macd[at] = line
            macdsignal[at] = signal
            macdhist[at] = line - signal


@parallel_jit
def macd_kernel_2d(
    real: FloatArray,
    fastperiod: int,
    slowperiod: int,
    signalperiod: int,
    unstable: int,
    macd: FloatArray,
    macdsignal: FloatArray,
    macdhist: FloatArray,
) -> None:
    for j in prange(real.shape[1]):
        macd_kernel(
            real[:, j],
            fastperiod,
            slowperiod,
            signalperiod,
            unstable,
            macd[:, j],
            macdsignal[:, j],
            macdhist[:, j],
        )


class MacdStream(Stream):
    """Incremental MACD: slow EMA from bar 0, fast EMA from bar slow-fast (TA-Lib's
    alignment), signal EMA of the MACD line from bar slow-1+unstable."""

    __slots__ = (
        "_bar",
        "_f",
        "_fast",
        "_fast_from",
        "_g",
        "_kf",
        "_kg",
        "_ks",
        "_m_from",
        "_out_from",
        "_s",
        "_sig",
        "_slow",
        "_st",
        "_sumf",
        "_sumg",
        "_sums",
    )

    def __init__(
        self, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9, unstable: int = 0
    ) -> None:
        if slowperiod < fastperiod:
            fastperiod, slowperiod = slowperiod, fastperiod
        self._fast = fastperiod
        self._slow = slowperiod
        self._sig = signalperiod
        self._kf = 2.0 / (fastperiod + 1)
        self._ks = 2.0 / (slowperiod + 1)
        self._kg = 2.0 / (signalperiod + 1)
        self._fast_from = slowperiod - fastperiod
        self._m_from = slowperiod - 1 + unstable
        self._out_from = self._m_from + signalperiod - 1 + unstable
        self._bar = 0
        self._f = 0.0
        self._s = 0.0
        self._g = 0.0
        self._sumf = 0.0
        self._sums = 0.0
        self._sumg = 0.0
        self._st = np.zeros(0)

    def update(self, real: float) -> tuple[float, float, float]:
        bar = self._bar
        self._bar = bar + 1
        slow = self._slow
        if bar >= slow:
            self._s = (real - self._s) * self._ks + self._s
        else:
            self._sums += real
            if bar == slow - 1:
                self._s = self._sums / slow
        fast = self._fast
        fb = bar - self._fast_from
        if fb >= fast:
            self._f = (real - self._f) * self._kf + self._f
        elif fb >= 0:
            self._sumf += real
            if fb == fast - 1:
                self._f = self._sumf / fast
        if bar < self._m_from:
            return NAN3
        m = self._f - self._s
        sig = self._sig
        gb = bar - self._m_from
        if gb >= sig:
            self._g = (m - self._g) * self._kg + self._g
        else:
            self._sumg += m
            if gb == sig - 1:
                self._g = self._sumg / sig
        if bar < self._out_from:
            return NAN3
        values = [self._s, self._f, self._g, self._ks, self._kf, self._kg]
        self._st = np.array(values, dtype=np.float64)
        self.__class__ = _MacdSteady
        g = self._g
        return m, g, m - g


class _MacdSteady(MacdStream):
    __slots__ = ()

    def update(self, real: float) -> tuple[float, float, float]:
        return self._step(self._st, real)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, x: float) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _MacdSteady._step = staticmethod(compiled(macd_step, st, 0.0))  # type: ignore[method-assign]
        return macd_step(st, x)


@jit
def macd_step(st: FloatArray, x: float) -> tuple[float, float, float]:
    """One steady MACD bar on ``st = [slow_ema, fast_ema, signal_ema, k_slow, k_fast, k_sig]``."""
    s = st[0]
    s = (x - s) * st[3] + s
    f = st[1]
    f = (x - f) * st[4] + f
    m = f - s
    g = st[2]
    g = (m - g) * st[5] + g
    st[0] = s
    st[1] = f
    st[2] = g
    return m, g, m - g


def _macd_lookback(fastperiod: int, slowperiod: int, signalperiod: int, unstable: int) -> int:
    return signalperiod - 1 + unstable + max(fastperiod, slowperiod) - 1 + unstable


macd = define(
    "macd",
    group="overlap",
    summary="Moving average convergence/divergence",
    inputs=("real",),
    outputs=("macd", "macdsignal", "macdhist"),
    params=(
        int_param("fastperiod", 12, 2),
        int_param("slowperiod", 26, 2),
        int_param("signalperiod", 9, 1),
    ),
    lookback=_macd_lookback,
    kernel=macd_kernel,
    kernel_2d=macd_kernel_2d,
    stream=MacdStream,
    source=_TA.format("MACD") + "; G. Appel, Technical Analysis: Power Tools (2005)",
    unstable=("EMA",),
)

# ---------------------------------------------------------------------------------------
# linearreg
# ---------------------------------------------------------------------------------------

#: TA-Lib rebuilds the regression sums every ``32 * period`` bars at the latest.
REG_RESEED = 32


@jit
def linearreg_core(
    x: FloatArray, start: int, end: int, period: int, out: FloatArray
) -> tuple[int, int]:
    """``TA_LINEARREG``: least-squares line over ``period`` bars, value at the last bar.

    O(1) running sums (TA-Lib 0.8's sliding identity) rebuilt from the window every
    ``32 * period`` bars or when a departing value dominates the window.
    """
    lookback = period - 1
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
    sum_x = float(period) * (period - 1) * 0.5
    sum_x_sqr = float(period) * (period - 1) * (2 * period - 1) / 6.0
    divisor = sum_x * sum_x - period * sum_x_sqr
    today = start
    trailing = start - lookback
    sum_xy = 0.0
    sum_y = 0.0
    sum_abs = 0.0
    i = period
    while i != 0:
        i -= 1
        value = x[today - i]
        sum_y += value
        sum_xy += float(i) * value
        sum_abs += abs(value)
    bars = REG_RESEED * period
    trailing_value = x[trailing]
    trailing += 1
    m = (period * sum_xy - sum_x * sum_y) / divisor
    b = (sum_y - m * sum_x) / float(period)
    out[0] = b + m * float(period - 1)
    k = 1
    today += 1
    while today <= end:
        weighted = float(period) * trailing_value
        sum_xy = sum_xy + sum_y - weighted
        sum_y = sum_y - trailing_value + x[today]
        sum_abs = sum_abs - abs(trailing_value) + abs(x[today])
        bars -= 1
        if bars <= 0 or abs(weighted) > 100.0 * sum_abs:
            bars = REG_RESEED * period
            sum_y = 0.0
            sum_xy = 0.0
            sum_abs = 0.0
            weight = float(lookback)
            for j in range(today - lookback, today + 1):
                value = x[j]
                sum_y += value
                sum_xy += weight * value
                sum_abs += abs(value)
                weight -= 1.0
        trailing_value = x[trailing]
        trailing += 1
        m = (period * sum_xy - sum_x * sum_y) / divisor
        b = (sum_y - m * sum_x) / float(period)
        out[k] = b + m * float(period - 1)
        k += 1
        today += 1
    return start, k


@jit
def linearreg_kernel(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Linear regression: the fitted least-squares line's value at the current bar."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + timeperiod - 1
    fill_nan(out, first)
    linearreg_core(real[beg:], 0, n - beg - 1, timeperiod, out[first:])


@parallel_jit
def linearreg_kernel_2d(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        linearreg_kernel(real[:, j], timeperiod, out[:, j])


class LinearregStream(Stream):
    """Incremental LINEARREG: the core's running sums, reseeds and trailing value."""

    __slots__ = (
        "_bars",
        "_buf",
        "_count",
        "_divisor",
        "_period",
        "_pos",
        "_st",
        "_sum_abs",
        "_sum_x",
        "_sum_xy",
        "_sum_y",
        "_trail",
    )

    def __init__(self, timeperiod: int = 14) -> None:
        period = timeperiod
        self._period = period
        self._sum_x = float(period) * (period - 1) * 0.5
        sum_x_sqr = float(period) * (period - 1) * (2 * period - 1) / 6.0
        self._divisor = self._sum_x * self._sum_x - period * sum_x_sqr
        self._buf = [0.0] * period
        self._pos = 0
        self._count = 0
        self._sum_xy = 0.0
        self._sum_y = 0.0
        self._sum_abs = 0.0
        self._trail = 0.0
        self._bars = REG_RESEED * period
        self._st = np.zeros(0)

    def _rebuild(self, pos: int) -> None:
        """Sums over the window oldest first (weights period-1 .. 0), as the C scan."""
        period = self._period
        buf = self._buf
        sum_y = 0.0
        sum_xy = 0.0
        sum_abs = 0.0
        weight = float(period - 1)
        for j in range(period):
            value = buf[(pos + j) % period]
            sum_y += value
            sum_xy += weight * value
            sum_abs += abs(value)
            weight -= 1.0
        self._sum_y = sum_y
        self._sum_xy = sum_xy
        self._sum_abs = sum_abs

    def update(self, real: float) -> float:
        """Warm-up: fill the first window, then the priming scan and the first value."""
        period = self._period
        self._buf[self._count] = real
        self._count += 1
        if self._count < period:
            return NAN
        self._pos = 0
        self._rebuild(0)
        self._trail = self._buf[0]
        header = [0, self._sum_y, self._sum_xy, self._sum_abs, self._trail, self._bars, period]
        self._st = np.array([*header, self._sum_x, self._divisor, *self._buf], dtype=np.float64)
        self.__class__ = _LinearregSteady
        sum_x = self._sum_x
        m = (period * self._sum_xy - sum_x * self._sum_y) / self._divisor
        b = (self._sum_y - m * sum_x) / float(period)
        return b + m * float(period - 1)


class _LinearregSteady(LinearregStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return self._step(self._st, real)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, x: float) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _LinearregSteady._step = staticmethod(compiled(linearreg_step, st, 0.0))  # type: ignore[method-assign]
        return linearreg_step(st, x)


@jit
def linearreg_step(st: FloatArray, x: float) -> float:
    """One steady LINEARREG bar on
    ``st = [pos, sum_y, sum_xy, sum_abs, trail, bars, period, sum_x, divisor, buf..]``."""
    period = int(st[6])
    pos = int(st[0])
    st[9 + pos] = x
    pos += 1
    if pos == period:
        pos = 0
    st[0] = pos
    trail = st[4]
    weighted = float(period) * trail
    sum_y = st[1]
    sum_xy = st[2] + sum_y - weighted
    sum_y = sum_y - trail + x
    sum_abs = st[3] - abs(trail) + abs(x)
    bars = st[5] - 1
    if bars <= 0 or abs(weighted) > 100.0 * sum_abs:
        bars = REG_RESEED * period
        sum_y = 0.0
        sum_xy = 0.0
        sum_abs = 0.0
        weight = float(period - 1)
        for j in range(period):
            value = st[9 + (pos + j) % period]
            sum_y += value
            sum_xy += weight * value
            sum_abs += abs(value)
            weight -= 1.0
    st[1] = sum_y
    st[2] = sum_xy
    st[3] = sum_abs
    st[5] = bars
    st[4] = st[9 + pos]
    sum_x = st[7]
    m = (period * sum_xy - sum_x * sum_y) / st[8]
    b = (sum_y - m * sum_x) / float(period)
    return b + m * float(period - 1)  # type: ignore[no-any-return]


linearreg = define(
    "linearreg",
    group="overlap",
    summary="Linear regression (least-squares line value at the current bar)",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 2),),
    lookback=lambda timeperiod: timeperiod - 1,
    kernel=linearreg_kernel,
    kernel_2d=linearreg_kernel_2d,
    stream=LinearregStream,
    source=_TA.format("LINEARREG"),
)

# ---------------------------------------------------------------------------------------
# stoch
# ---------------------------------------------------------------------------------------


@jit
def stoch_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    fastk_period: int,
    slowk_period: int,
    slowk_matype: int,
    slowd_period: int,
    slowd_matype: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
    slowk: FloatArray,
    slowd: FloatArray,
) -> None:
    """Slow stochastic: %K over fastk_period (window extremes), smoothed twice by MAs."""
    n = high.shape[0]
    if n == 0:
        return
    beg = begin3(high, low, close)
    lb_k = fastk_period - 1
    lb_slowk = _ma.ma_lookback(slowk_period, slowk_matype, ema_unstable, kama_unstable, t3_unstable)
    lb_slowd = _ma.ma_lookback(slowd_period, slowd_matype, ema_unstable, kama_unstable, t3_unstable)
    first = beg + lb_k + lb_slowk + lb_slowd
    if first < n:
        fastk = np.empty(n, dtype=np.float64)
        _block_scan(high, low, close, beg, fastk_period, False, fastk)
        smooth = np.empty(n, dtype=np.float64)
        k0 = beg + lb_k
        _, count = _ma.ma_core(
            fastk[k0:],
            0,
            n - k0 - 1,
            slowk_period,
            slowk_matype,
            ema_unstable,
            kama_unstable,
            t3_unstable,
            smooth[k0 + lb_slowk :],
        )
        d0 = k0 + lb_slowk
        _ma.ma_core(
            smooth[d0:],
            0,
            count - 1,
            slowd_period,
            slowd_matype,
            ema_unstable,
            kama_unstable,
            t3_unstable,
            slowd[first:],
        )
        for i in range(first, n):
            slowk[i] = smooth[i]
    fill_nan(slowk, first)
    fill_nan(slowd, first)


@parallel_jit
def stoch_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    fastk_period: int,
    slowk_period: int,
    slowk_matype: int,
    slowd_period: int,
    slowd_matype: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
    slowk: FloatArray,
    slowd: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        stoch_kernel(
            high[:, j],
            low[:, j],
            close[:, j],
            fastk_period,
            slowk_period,
            slowk_matype,
            slowd_period,
            slowd_matype,
            ema_unstable,
            kama_unstable,
            t3_unstable,
            slowk[:, j],
            slowd[:, j],
        )


class StochStream(Stream):
    """Incremental slow stochastic: window extremes -> %K -> MA -> MA.

    With SMA smoothing (the default) the steady class runs both SMAs inline on the
    sub-streams' own buffers; other MA types call their streams.
    """

    __slots__ = (
        "_bar",
        "_d_from",
        "_extremes",
        "_k_from",
        "_out_from",
        "_slowd",
        "_slowk",
        "_st",
    )

    def __init__(
        self,
        fastk_period: int = 5,
        slowk_period: int = 3,
        slowk_matype: int = 0,
        slowd_period: int = 3,
        slowd_matype: int = 0,
        ema_unstable: int = 0,
        kama_unstable: int = 0,
        t3_unstable: int = 0,
    ) -> None:
        unstable = (ema_unstable, kama_unstable, t3_unstable)
        self._extremes = BlockExtremes(fastk_period)
        self._slowk = _ma.ma_stream(slowk_period, slowk_matype, *unstable)
        self._slowd = _ma.ma_stream(slowd_period, slowd_matype, *unstable)
        self._k_from = fastk_period - 1
        self._d_from = self._k_from + _ma.ma_lookback_py(slowk_period, slowk_matype, *unstable)
        self._out_from = self._d_from + _ma.ma_lookback_py(slowd_period, slowd_matype, *unstable)
        self._bar = 0
        self._st = np.zeros(0)

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        window = self._extremes.update(high, low)
        bar = self._bar
        self._bar = bar + 1
        if window is None:
            return NAN2
        fastk = _extreme_value_py(window[0], window[1], close, False)
        slowk = self._slowk.update(fastk)
        if bar < self._d_from:
            return NAN2
        slowd = self._slowd.update(slowk)
        if bar < self._out_from:
            return NAN2
        sma = _ma._SmaSteady
        k_sma = self._slowk
        d_sma = self._slowd
        if type(k_sma) is sma and type(d_sma) is sma:
            ext = self._extremes
            extremes = [ext._count, ext._p, ext._pre_high, ext._pre_low]
            blocks = [*ext._block_high, *ext._block_low, *ext._suf_high, *ext._suf_low]
            k_state = [k_sma._pos, k_sma._total, k_sma._period, *k_sma._buf]
            d_state = [d_sma._pos, d_sma._total, d_sma._period, *d_sma._buf]
            self._st = np.array([*extremes, *blocks, *k_state, *d_state], dtype=np.float64)
            self.__class__ = _StochSmaSteady
        else:
            self.__class__ = _StochSteady
        return slowk, slowd


class _StochSteady(StochStream):
    __slots__ = ()

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        hi, lo = self._extremes.update(high, low)  # type: ignore[misc]
        if abs(hi - lo) <= FLAT_EPSILON * (abs(hi) + abs(lo)):
            fastk = 0.0
        else:
            fastk = 100.0 * ((close - lo) / (hi - lo))
        slowk = self._slowk.update(fastk)
        return slowk, self._slowd.update(slowk)


class _StochSmaSteady(StochStream):
    __slots__ = ()

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        return self._step(self._st, high, low, close)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, high: float, low: float, close: float) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _StochSmaSteady._step = staticmethod(compiled(stoch_sma_step, st, 0.0, 0.0, 0.0))  # type: ignore[method-assign]
        return stoch_sma_step(st, high, low, close)


@jit
def stoch_sma_step(st: FloatArray, high: float, low: float, close: float) -> tuple[float, float]:
    """One steady slow-stochastic bar with SMA smoothing, all state in ``st``:

    ``[count, p, pre_high, pre_low, block_high(p), block_low(p), suf_high(p), suf_low(p),
    k_pos, k_total, k_period, k_buf(k_period), d_pos, d_total, d_period, d_buf(d_period)]``.
    The window extremes follow ``momentum.BlockExtremes`` (TA-Lib 0.8's block scan).
    """
    p = int(st[1])
    k = int(st[0])
    st[0] = k + 1
    pos = k % p
    bh = 4
    bl = 4 + p
    sh = 4 + 2 * p
    sl = 4 + 3 * p
    if pos == p - 1:
        hi = high
        lo = low
        st[sh + p - 1] = hi
        st[sl + p - 1] = lo
        for i in range(p - 2, -1, -1):
            t = st[bh + i]
            if t > hi:
                hi = t
            t = st[bl + i]
            if t < lo:
                lo = t
            st[sh + i] = hi
            st[sl + i] = lo
    else:
        st[bh + pos] = high
        st[bl + pos] = low
        if pos == 0 or high > st[2]:
            st[2] = high
        if pos == 0 or low < st[3]:
            st[3] = low
        hi = st[sh + pos + 1]
        if st[2] > hi:
            hi = st[2]
        lo = st[sl + pos + 1]
        if st[3] < lo:
            lo = st[3]
    if abs(hi - lo) <= FLAT_EPSILON * (abs(hi) + abs(lo)):
        fastk = 0.0
    else:
        fastk = 100.0 * ((close - lo) / (hi - lo))
    base = 4 + 4 * p
    period = int(st[base + 2])
    at = int(st[base])
    st[base + 3 + at] = fastk
    at += 1
    if at == period:
        at = 0
    st[base] = at
    total = st[base + 1] + fastk
    st[base + 1] = total - st[base + 3 + at]
    slowk = total / period
    base = base + 3 + period
    period = int(st[base + 2])
    at = int(st[base])
    st[base + 3 + at] = slowk
    at += 1
    if at == period:
        at = 0
    st[base] = at
    total = st[base + 1] + slowk
    st[base + 1] = total - st[base + 3 + at]
    return slowk, total / period


def _stoch_lookback(
    fastk_period: int,
    slowk_period: int,
    slowk_matype: int,
    slowd_period: int,
    slowd_matype: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
) -> int:
    unstable = (ema_unstable, kama_unstable, t3_unstable)
    return (
        fastk_period
        - 1
        + _ma.ma_lookback_py(slowk_period, slowk_matype, *unstable)
        + _ma.ma_lookback_py(slowd_period, slowd_matype, *unstable)
    )


stoch = define(
    "stoch",
    group="overlap",
    summary="Stochastic oscillator (slow %K, %D)",
    inputs=("high", "low", "close"),
    outputs=("slowk", "slowd"),
    params=(
        int_param("fastk_period", 5, 1),
        int_param("slowk_period", 3, 1),
        int_param("slowk_matype", 0, 0, _MATYPE_MAX),
        int_param("slowd_period", 3, 1),
        int_param("slowd_matype", 0, 0, _MATYPE_MAX),
    ),
    lookback=_stoch_lookback,
    kernel=stoch_kernel,
    kernel_2d=stoch_kernel_2d,
    stream=StochStream,
    source=_TA.format("STOCH") + "; G. Lane's stochastic oscillator",
    check=_check_matype,
    unstable=_MA_UNSTABLE,
)
