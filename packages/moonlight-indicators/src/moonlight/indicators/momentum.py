"""Momentum oscillators: rsi, stochrsi, willr, cci, mfi, roc, mom, cmo and ultosc.

Every kernel reproduces the C library bundled with ta-lib 0.8.2 (TA-Lib 0.8.1) operation
for operation, so values match TA-Lib bit for bit, not only within tolerance. That C
library differs from the classic TA-Lib 0.4/0.6 sources in ways that show in the last
bits and around NaN, established by probing the wrapper:

* RSI splits each change without a branch (``gain += max(d, 0)``, ``loss += that - d``)
  and scales by a precomputed ``1 / period``; CMO keeps the classic branch and divides.
  Both answer 0 unless ``gain + loss > 0`` -- so after a NaN input (NaN averages) they
  stay at 0, not NaN -- and tiny prices (1e-8 and far below) are not zeroed;
* flatness tests are relative: WILLR and STOCHRSI treat a range within 1e-14 of
  ``|highest| + |lowest|`` as flat (0), CCI compares with the window mean, MFI with the
  two typical prices; ULTOSC skips a true-range sum that is 0 or NaN;
* WILLR's window extremes come from the van Herk/Gil-Werman block scan, whose NaN
  behaviour (a NaN is skipped unless a scan starts on it) we reproduce by running the
  same scan; its stream twin does one backward scan every ``timeperiod`` bars. %R is
  clamped into [-100, 0] (a close outside the range gives the bound);

Leading bars where any input is NaN are skipped as TA-Lib's wrapper does (warm-up counts
from the first complete bar). Kernels are plain loops over 1-D float64 arrays writing
into caller-supplied outputs; they are importable so a strategy's own ``@njit`` code can
call them. CCI, MFI, ULTOSC and WILLR allocate one ring buffer of ``timeperiod`` floats
before their loop, as TA-Lib does. Each stream class performs the same floating-point
operations in the same order as its kernel, so stream and batch agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange
from numba import uint64 as U

from moonlight.indicators import _ma
from moonlight.indicators._define import Stream, define, int_param
from moonlight.indicators._jit import jit, parallel_jit
from moonlight.indicators._kernels import FloatArray, begin1, begin3, begin4, fill_nan

NAN = math.nan

#: TA-Lib's ``TA_EPSILON`` (1e-14): the width of its relative "is zero" bands.
EPSILON = 1e-14

_TA = "TA-Lib C ta_{}.c (library 0.8.1 bundled with the ta-lib 0.8.2 Python wrapper)"


# ---------------------------------------------------------------------------------------------
# RSI and CMO: Wilder averages of gains and losses
# ---------------------------------------------------------------------------------------------


@jit
def _ratio(gain: float, loss: float, cmo: bool) -> float:
    """RSI (or CMO) from the two averages; 0 unless their total is > 0 (NaN total: 0)."""
    total = gain + loss
    if total > 0.0:
        if cmo:
            return 100.0 * ((gain - loss) / total)
        return 100.0 * (gain / total)
    return 0.0


@jit
def _wilder_gain_loss(
    real: FloatArray, timeperiod: int, unstable: int, cmo: bool, out: FloatArray
) -> None:
    """Shared RSI/CMO loop (the two differ exactly where TA-Lib 0.8.1's C code does)."""
    n = real.shape[0]
    if n == 0:
        return
    p = timeperiod
    recip = 1.0 / p
    begin = begin1(real)
    start = begin + p + unstable
    fill_nan(out, start)
    if start >= n:
        return
    today = begin
    prev = real[U(today)]
    gain = 0.0
    loss = 0.0
    today += 1
    for _ in range(p):
        value = real[U(today)]
        today += 1
        diff = value - prev
        prev = value
        if cmo:
            if diff < 0.0:
                loss -= diff
            else:
                gain += diff
        else:
            up = diff if diff > 0.0 else 0.0
            gain += up
            loss += up - diff
    if cmo:
        loss /= p
        gain /= p
    else:
        loss *= recip
        gain *= recip
    if today > start:
        out[U(start)] = _ratio(gain, loss, cmo)
    while today < n:
        value = real[U(today)]
        diff = value - prev
        prev = value
        loss *= p - 1
        gain *= p - 1
        if cmo:
            if diff < 0.0:
                loss -= diff
            else:
                gain += diff
            loss /= p
            gain /= p
        else:
            up = diff if diff > 0.0 else 0.0
            gain += up
            loss += up - diff
            loss *= recip
            gain *= recip
        if today >= start:
            out[U(today)] = _ratio(gain, loss, cmo)
        today += 1


@jit
def rsi_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Relative Strength Index (Wilder): 100 * avg gain / (avg gain + avg loss)."""
    _wilder_gain_loss(real, timeperiod, unstable, False, out)


@parallel_jit
def rsi_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        rsi_kernel(real[:, j], timeperiod, unstable, out[:, j])


@jit
def cmo_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Chande Momentum Oscillator on Wilder averages: 100 * (gain - loss) / (gain + loss)."""
    _wilder_gain_loss(real, timeperiod, unstable, True, out)


@parallel_jit
def cmo_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        cmo_kernel(real[:, j], timeperiod, unstable, out[:, j])


class _WilderGainLossStream(Stream):
    """Stream twin of ``_wilder_gain_loss``: ``update(real)``."""

    __slots__ = ("_bars", "_cmo", "_gain", "_loss", "_p", "_prev", "_recip", "_warmup")

    def __init__(self, timeperiod: int, unstable: int, cmo: bool) -> None:
        self._p = timeperiod
        self._recip = 1.0 / timeperiod
        self._warmup = timeperiod + unstable
        self._cmo = cmo
        self._bars = -1
        self._prev = 0.0
        self._gain = 0.0
        self._loss = 0.0

    def update(self, real: float) -> float:
        bars = self._bars + 1
        self._bars = bars
        if bars == 0:
            self._prev = real
            return NAN
        diff = real - self._prev
        self._prev = real
        p = self._p
        gain = self._gain
        loss = self._loss
        if bars > p:
            loss *= p - 1
            gain *= p - 1
        if self._cmo:
            if diff < 0.0:
                loss -= diff
            else:
                gain += diff
            if bars >= p:
                loss /= p
                gain /= p
        else:
            up = diff if diff > 0.0 else 0.0
            gain += up
            loss += up - diff
            if bars >= p:
                loss *= self._recip
                gain *= self._recip
        self._gain = gain
        self._loss = loss
        if bars < self._warmup:
            return NAN
        total = gain + loss
        if total > 0.0:
            if self._cmo:
                return 100.0 * ((gain - loss) / total)
            return 100.0 * (gain / total)
        return 0.0


class RsiStream(_WilderGainLossStream):
    """Incremental RSI: ``update(real)`` returns the bar's RSI (NaN during warm-up)."""

    __slots__ = ()

    def __init__(self, timeperiod: int = 14, unstable: int = 0) -> None:
        super().__init__(timeperiod, unstable, False)


class CmoStream(_WilderGainLossStream):
    """Incremental CMO: ``update(real)`` returns the bar's CMO (NaN during warm-up)."""

    __slots__ = ()

    def __init__(self, timeperiod: int = 14, unstable: int = 0) -> None:
        super().__init__(timeperiod, unstable, True)


rsi = define(
    "rsi",
    group="momentum",
    summary="Relative Strength Index (Wilder smoothing)",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 2),),
    lookback=lambda timeperiod, unstable: timeperiod + unstable,
    kernel=rsi_kernel,
    kernel_2d=rsi_kernel_2d,
    stream=RsiStream,
    source=_TA.format("RSI") + "; J. W. Wilder, New Concepts in Technical Trading Systems",
    unstable=("RSI",),
)

cmo = define(
    "cmo",
    group="momentum",
    summary="Chande Momentum Oscillator (on Wilder averages, as TA-Lib)",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 2),),
    lookback=lambda timeperiod, unstable: timeperiod + unstable,
    kernel=cmo_kernel,
    kernel_2d=cmo_kernel_2d,
    stream=CmoStream,
    source=_TA.format("CMO") + "; T. Chande, The New Technical Trader",
    unstable=("CMO",),
)


# ---------------------------------------------------------------------------------------------
# MOM and ROC
# ---------------------------------------------------------------------------------------------


@jit
def mom_kernel(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Momentum: ``real[U(t)] - real[U(t - timeperiod)]``."""
    n = real.shape[0]
    if n == 0:
        return
    start = begin1(real) + timeperiod
    fill_nan(out, start)
    for today in range(start, n):
        out[U(today)] = real[U(today)] - real[U(today - timeperiod)]


@parallel_jit
def mom_kernel_2d(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        mom_kernel(real[:, j], timeperiod, out[:, j])


@jit
def roc_kernel(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Rate of change in percent: ``(real[U(t)] / real[U(t - n)] - 1) * 100``; 0 on a zero base."""
    n = real.shape[0]
    if n == 0:
        return
    start = begin1(real) + timeperiod
    fill_nan(out, start)
    for today in range(start, n):
        base = real[U(today - timeperiod)]
        if base != 0.0:
            out[U(today)] = (real[U(today)] / base - 1.0) * 100.0
        else:
            out[U(today)] = 0.0


@parallel_jit
def roc_kernel_2d(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        roc_kernel(real[:, j], timeperiod, out[:, j])


class _LagStream(Stream):
    """Ring buffer of the last ``timeperiod + 1`` values, shared by MOM and ROC."""

    __slots__ = ("_buf", "_count", "_p", "_pos")

    def __init__(self, timeperiod: int) -> None:
        self._p = timeperiod
        self._buf = [0.0] * (timeperiod + 1)
        self._pos = 0
        self._count = 0

    def _push(self, real: float) -> float | None:
        """Store the bar; return the value ``timeperiod`` bars back once there is one."""
        buf = self._buf
        pos = self._pos
        buf[pos] = real
        pos += 1
        if pos == len(buf):
            pos = 0
        self._pos = pos
        if self._count < self._p:
            self._count += 1
            return None
        return buf[pos]


class MomStream(_LagStream):
    """Incremental MOM: ``update(real)`` returns ``real - real[timeperiod bars ago]``."""

    __slots__ = ()

    def __init__(self, timeperiod: int = 10) -> None:
        super().__init__(timeperiod)

    def update(self, real: float) -> float:
        base = self._push(real)
        if base is None:
            return NAN
        return real - base


class RocStream(_LagStream):
    """Incremental ROC: ``update(real)`` returns the bar's rate of change in percent."""

    __slots__ = ()

    def __init__(self, timeperiod: int = 10) -> None:
        super().__init__(timeperiod)

    def update(self, real: float) -> float:
        base = self._push(real)
        if base is None:
            return NAN
        if base != 0.0:
            return (real / base - 1.0) * 100.0
        return 0.0


mom = define(
    "mom",
    group="momentum",
    summary="Momentum: change over timeperiod bars",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 10, 1),),
    lookback=lambda timeperiod: timeperiod,
    kernel=mom_kernel,
    kernel_2d=mom_kernel_2d,
    stream=MomStream,
    source=_TA.format("MOM"),
)

roc = define(
    "roc",
    group="momentum",
    summary="Rate of change in percent: (price / price n bars ago - 1) * 100",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 10, 1),),
    lookback=lambda timeperiod: timeperiod,
    kernel=roc_kernel,
    kernel_2d=roc_kernel_2d,
    stream=RocStream,
    source=_TA.format("ROC"),
)


# ---------------------------------------------------------------------------------------------
# Window extremes (van Herk/Gil-Werman) for WILLR and STOCHRSI
# ---------------------------------------------------------------------------------------------


@jit
def flat_range(highest: float, lowest: float) -> bool:
    """TA-Lib 0.8's flatness test: the range is within 1e-14 of ``|highest| + |lowest|``."""
    return abs(highest - lowest) <= EPSILON * (abs(highest) + abs(lowest))


@jit
def _extreme_value(highest: float, lowest: float, close: float, willr: bool) -> float:
    """Williams' %R (``willr``) or stochastic %K from the window extremes; 0 when flat.

    Clamped into [-100, 0] / [0, 100] as TA-Lib 0.8.1 does: a close outside the window's
    range (bad data, or a NaN high/low the scan skipped) gives the bound, not beyond.
    """
    if flat_range(highest, lowest):
        return 0.0
    if willr:
        value = -100.0 * ((highest - close) / (highest - lowest))
        if value > 0.0:
            return 0.0
        if value < -100.0:
            return -100.0
        return value
    value = 100.0 * ((close - lowest) / (highest - lowest))
    if value < 0.0:
        return 0.0
    if value > 100.0:
        return 100.0
    return value


@jit
def _block_scan(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    begin: int,
    timeperiod: int,
    willr: bool,
    out: FloatArray,
) -> None:
    """Outputs for bars ``begin + timeperiod - 1 ..`` from the window extremes.

    The van Herk/Gil-Werman block scan of TA-Lib 0.8: blocks of ``timeperiod`` bars from
    ``begin``; the bar that ends a block takes the block's own backward-scanned extremes,
    the next ``timeperiod - 1`` bars combine the older block's suffix extremes with the
    newer block's running prefix extremes (strict comparisons, older half kept on ties).
    O(n) with three comparisons a bar whatever the period.
    """
    n = high.shape[0]
    p = timeperiod
    suf_high = np.empty(p, dtype=np.float64)
    suf_low = np.empty(p, dtype=np.float64)
    block = begin
    today = begin + p - 1
    while today < n:
        i = block + p - 1
        hi = high[U(i)]
        lo = low[U(i)]
        suf_high[U(p - 1)] = hi
        suf_low[U(p - 1)] = lo
        while i > block:
            i -= 1
            t = high[U(i)]
            if t > hi:
                hi = t
            t = low[U(i)]
            if t < lo:
                lo = t
            suf_high[U(i - block)] = hi
            suf_low[U(i - block)] = lo
        out[U(today)] = _extreme_value(suf_high[0], suf_low[0], close[U(today)], willr)
        today += 1
        nxt = block + p
        avail = min(n - nxt, p - 1)
        pre_hi = 0.0
        pre_lo = 0.0
        for m in range(1, avail + 1):
            bar = nxt + m - 1
            t = high[U(bar)]
            if m == 1 or t > pre_hi:
                pre_hi = t
            t = low[U(bar)]
            if m == 1 or t < pre_lo:
                pre_lo = t
            hi = suf_high[U(m)]
            if pre_hi > hi:
                hi = pre_hi
            lo = suf_low[U(m)]
            if pre_lo < lo:
                lo = pre_lo
            out[U(bar)] = _extreme_value(hi, lo, close[U(bar)], willr)
        today += avail
        block = nxt


class BlockExtremes(Stream):
    """Stream twin of ``_block_scan``'s extremes for one (high, low) pair.

    ``update(high, low)`` takes bar k (k = 0 at the first valid bar) and, from bar
    ``period - 1`` on, returns the window's highest and lowest exactly as the batch scan
    combines them (None before). O(1) a bar, plus one O(period) backward scan when a
    block completes -- amortised O(1).
    """

    __slots__ = (
        "_block_high",
        "_block_low",
        "_count",
        "_p",
        "_pre_high",
        "_pre_low",
        "_suf_high",
        "_suf_low",
    )

    def __init__(self, period: int) -> None:
        self._p = period
        self._block_high = [0.0] * period
        self._block_low = [0.0] * period
        self._suf_high = [0.0] * period
        self._suf_low = [0.0] * period
        self._pre_high = 0.0
        self._pre_low = 0.0
        self._count = 0

    def update(self, high: float, low: float) -> tuple[float, float] | None:
        p = self._p
        k = self._count
        self._count = k + 1
        pos = k % p
        if pos == p - 1:
            block_high = self._block_high
            block_low = self._block_low
            suf_high = self._suf_high
            suf_low = self._suf_low
            hi = high
            lo = low
            suf_high[p - 1] = hi
            suf_low[p - 1] = lo
            for i in range(p - 2, -1, -1):
                t = block_high[i]
                if t > hi:
                    hi = t
                t = block_low[i]
                if t < lo:
                    lo = t
                suf_high[i] = hi
                suf_low[i] = lo
            return hi, lo
        self._block_high[pos] = high
        self._block_low[pos] = low
        if k < p:
            return None
        if pos == 0 or high > self._pre_high:
            self._pre_high = high
        if pos == 0 or low < self._pre_low:
            self._pre_low = low
        hi = self._suf_high[pos + 1]
        if self._pre_high > hi:
            hi = self._pre_high
        lo = self._suf_low[pos + 1]
        if self._pre_low < lo:
            lo = self._pre_low
        return hi, lo


def _extreme_value_py(highest: float, lowest: float, close: float, willr: bool) -> float:
    if abs(highest - lowest) <= EPSILON * (abs(highest) + abs(lowest)):
        return 0.0
    if willr:
        value = -100.0 * ((highest - close) / (highest - lowest))
        if value > 0.0:
            return 0.0
        if value < -100.0:
            return -100.0
        return value
    value = 100.0 * ((close - lowest) / (highest - lowest))
    if value < 0.0:
        return 0.0
    if value > 100.0:
        return 100.0
    return value


# ---------------------------------------------------------------------------------------------
# WILLR
# ---------------------------------------------------------------------------------------------


@jit
def willr_kernel(
    high: FloatArray, low: FloatArray, close: FloatArray, timeperiod: int, out: FloatArray
) -> None:
    """Williams' %R: ``-100 * (HH - close) / (HH - LL)`` over ``timeperiod`` bars; 0 if flat."""
    n = high.shape[0]
    if n == 0:
        return
    begin = begin3(high, low, close)
    fill_nan(out, begin + timeperiod - 1)
    _block_scan(high, low, close, begin, timeperiod, True, out)


@parallel_jit
def willr_kernel_2d(
    high: FloatArray, low: FloatArray, close: FloatArray, timeperiod: int, out: FloatArray
) -> None:
    for j in prange(high.shape[1]):
        willr_kernel(high[:, j], low[:, j], close[:, j], timeperiod, out[:, j])


class WillrStream(Stream):
    """Incremental Williams' %R: ``update(high, low, close)`` returns the bar's %R."""

    __slots__ = ("_extremes",)

    def __init__(self, timeperiod: int = 14) -> None:
        self._extremes = BlockExtremes(timeperiod)

    def update(self, high: float, low: float, close: float) -> float:
        window = self._extremes.update(high, low)
        if window is None:
            return NAN
        return _extreme_value_py(window[0], window[1], close, True)


willr = define(
    "willr",
    group="momentum",
    summary="Williams' %R",
    inputs=("high", "low", "close"),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 2),),
    lookback=lambda timeperiod: timeperiod - 1,
    kernel=willr_kernel,
    kernel_2d=willr_kernel_2d,
    stream=WillrStream,
    source=_TA.format("WILLR") + "; L. Williams, How I Made One Million Dollars (1979)",
)


# ---------------------------------------------------------------------------------------------
# STOCHRSI
# ---------------------------------------------------------------------------------------------


@jit
def stochrsi_kernel(
    real: FloatArray,
    timeperiod: int,
    fastk_period: int,
    fastd_period: int,
    fastd_matype: int,
    unstable: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
    fastk: FloatArray,
    fastd: FloatArray,
) -> None:
    """Stochastic RSI: fast %K of the RSI over ``fastk_period``, %D its ``fastd_matype`` MA.

    ``fastd`` holds the RSI as scratch until the MA overwrites it; %K is written straight
    into ``fastk``; both are NaN until the first %D.
    """
    n = real.shape[0]
    if n == 0:
        return
    begin = begin1(real)
    rsi_first = begin + timeperiod + unstable
    k_first = rsi_first + fastk_period - 1
    first = k_first + _ma.ma_lookback(
        fastd_period, fastd_matype, ema_unstable, kama_unstable, t3_unstable
    )
    if first >= n:
        fill_nan(fastk, n)
        fill_nan(fastd, n)
        return
    _wilder_gain_loss(real, timeperiod, unstable, False, fastd)
    _block_scan(fastd, fastd, fastd, rsi_first, fastk_period, False, fastk)
    _ma.ma_core(
        fastk[k_first:],
        0,
        n - k_first - 1,
        fastd_period,
        fastd_matype,
        ema_unstable,
        kama_unstable,
        t3_unstable,
        fastd[first:],
    )
    fill_nan(fastk, first)
    fill_nan(fastd, first)


@parallel_jit
def stochrsi_kernel_2d(
    real: FloatArray,
    timeperiod: int,
    fastk_period: int,
    fastd_period: int,
    fastd_matype: int,
    unstable: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
    fastk: FloatArray,
    fastd: FloatArray,
) -> None:
    for j in prange(real.shape[1]):
        stochrsi_kernel(
            real[:, j],
            timeperiod,
            fastk_period,
            fastd_period,
            fastd_matype,
            unstable,
            ema_unstable,
            kama_unstable,
            t3_unstable,
            fastk[:, j],
            fastd[:, j],
        )


def _ma_lookback(
    period: int, matype: int, ema_unstable: int, kama_unstable: int, t3_unstable: int
) -> int:
    """``TA_MA_Lookback`` from Python (the jitted function also runs with the JIT off)."""
    return int(_ma.ma_lookback(period, matype, ema_unstable, kama_unstable, t3_unstable))


class StochrsiStream(Stream):
    """Incremental Stochastic RSI: ``update(real)`` returns ``(fastk, fastd)``."""

    __slots__ = ("_bars", "_extremes", "_ma", "_rsi", "_rsi_warmup", "_warmup")

    def __init__(
        self,
        timeperiod: int = 14,
        fastk_period: int = 5,
        fastd_period: int = 3,
        fastd_matype: int = 0,
        unstable: int = 0,
        ema_unstable: int = 0,
        kama_unstable: int = 0,
        t3_unstable: int = 0,
    ) -> None:
        self._rsi = RsiStream(timeperiod, unstable)
        self._extremes = BlockExtremes(fastk_period)
        self._ma = _ma.ma_stream(
            fastd_period, fastd_matype, ema_unstable, kama_unstable, t3_unstable
        )
        self._rsi_warmup = timeperiod + unstable
        self._warmup = (
            self._rsi_warmup
            + fastk_period
            - 1
            + _ma_lookback(fastd_period, fastd_matype, ema_unstable, kama_unstable, t3_unstable)
        )
        self._bars = 0

    def update(self, real: float) -> tuple[float, float]:
        bars = self._bars
        self._bars = bars + 1
        rsi_value = self._rsi.update(real)
        if bars < self._rsi_warmup:
            return NAN, NAN
        window = self._extremes.update(rsi_value, rsi_value)
        if window is None:
            return NAN, NAN
        k = _extreme_value_py(window[0], window[1], rsi_value, False)
        d = self._ma.update(k)
        if bars < self._warmup:
            return NAN, NAN
        return k, d


def _stochrsi_lookback(
    timeperiod: int,
    fastk_period: int,
    fastd_period: int,
    fastd_matype: int,
    unstable: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
) -> int:
    return (
        timeperiod
        + unstable
        + fastk_period
        - 1
        + _ma_lookback(fastd_period, fastd_matype, ema_unstable, kama_unstable, t3_unstable)
    )


def _stochrsi_check(
    timeperiod: int, fastk_period: int, fastd_period: int, fastd_matype: int
) -> None:
    _ma.check_matype("fastd_matype", fastd_matype)


stochrsi = define(
    "stochrsi",
    group="momentum",
    summary="Stochastic RSI: fast %K of the RSI and its moving average %D",
    inputs=("real",),
    outputs=("fastk", "fastd"),
    params=(
        int_param("timeperiod", 14, 2),
        int_param("fastk_period", 5, 1),
        int_param("fastd_period", 3, 1),
        int_param("fastd_matype", 0, 0, 8),
    ),
    lookback=_stochrsi_lookback,
    kernel=stochrsi_kernel,
    kernel_2d=stochrsi_kernel_2d,
    stream=StochrsiStream,
    check=_stochrsi_check,
    source=_TA.format("STOCHRSI")
    + " (RSI then STOCHF); T. Chande and S. Kroll, Stocks & Commodities 11:5 (1993)",
    unstable={
        "unstable": "RSI",
        "ema_unstable": "EMA",
        "kama_unstable": "KAMA",
        "t3_unstable": "T3",
    },
)


# ---------------------------------------------------------------------------------------------
# CCI
# ---------------------------------------------------------------------------------------------


@jit
def cci_kernel(
    high: FloatArray, low: FloatArray, close: FloatArray, timeperiod: int, out: FloatArray
) -> None:
    """Commodity Channel Index: (tp - mean) / (0.015 * mean absolute deviation).

    The mean and deviation sum the ring buffer slot by slot (not oldest first), as
    TA-Lib does, so the values are bit-identical; a window is flat (output 0) when the
    last typical price or the mean deviation is within 1e-14 of the mean's magnitude.
    """
    n = high.shape[0]
    if n == 0:
        return
    p = timeperiod
    begin = begin3(high, low, close)
    start = begin + p - 1
    fill_nan(out, start)
    if start >= n:
        return
    ring = np.empty(p, dtype=np.float64)
    slot = 0
    for i in range(begin, start):
        ring[U(slot)] = (high[U(i)] + low[U(i)] + close[U(i)]) / 3
        slot += 1
        if slot > p - 1:
            slot = 0
    for today in range(start, n):
        last = (high[U(today)] + low[U(today)] + close[U(today)]) / 3
        ring[U(slot)] = last
        average = 0.0
        for j in range(p):
            average += ring[U(j)]
        average /= p
        deviation = 0.0
        for j in range(p):
            deviation += abs(ring[U(j)] - average)
        deviation /= p
        delta = last - average
        level = EPSILON * abs(average)
        if abs(delta) <= level or abs(deviation) <= level:
            out[U(today)] = 0.0
        else:
            out[U(today)] = delta / (0.015 * deviation)
        slot += 1
        if slot > p - 1:
            slot = 0


class CciStream(Stream):
    """Incremental CCI: ``update(high, low, close)``; O(timeperiod) per bar like TA-Lib."""

    __slots__ = ("_count", "_p", "_ring", "_slot")

    def __init__(self, timeperiod: int = 14) -> None:
        self._p = timeperiod
        self._ring = [0.0] * timeperiod
        self._slot = 0
        self._count = 0

    def update(self, high: float, low: float, close: float) -> float:
        p = self._p
        ring = self._ring
        last = (high + low + close) / 3
        slot = self._slot
        ring[slot] = last
        slot += 1
        self._slot = 0 if slot > p - 1 else slot
        self._count += 1
        if self._count < p:
            return NAN
        average = 0.0
        for value in ring:
            average += value
        average /= p
        deviation = 0.0
        for value in ring:
            deviation += abs(value - average)
        deviation /= p
        delta = last - average
        level = EPSILON * abs(average)
        if abs(delta) <= level or abs(deviation) <= level:
            return 0.0
        return delta / (0.015 * deviation)


@parallel_jit
def cci_kernel_2d(
    high: FloatArray, low: FloatArray, close: FloatArray, timeperiod: int, out: FloatArray
) -> None:
    for j in prange(high.shape[1]):
        cci_kernel(high[:, j], low[:, j], close[:, j], timeperiod, out[:, j])


cci = define(
    "cci",
    group="momentum",
    summary="Commodity Channel Index",
    inputs=("high", "low", "close"),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 2),),
    lookback=lambda timeperiod: timeperiod - 1,
    kernel=cci_kernel,
    kernel_2d=cci_kernel_2d,
    stream=CciStream,
    source=_TA.format("CCI") + "; D. Lambert, Commodities magazine (1980)",
)


# ---------------------------------------------------------------------------------------------
# MFI
# ---------------------------------------------------------------------------------------------


@jit
def mfi_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    timeperiod: int,
    out: FloatArray,
) -> None:
    """Money Flow Index, TA-Lib 0.8 rules.

    A bar's money flow is typical price x volume, counted as "no movement" when the
    typical price moved less than 1e-14 of its magnitude; after ``timeperiod`` bars
    without money flow the sums are reset to exactly zero (zero volume gives 0, not
    rounding residue); the ratio is clamped into [0, 100] and an empty window gives 0.
    """
    n = high.shape[0]
    if n == 0:
        return
    p = timeperiod
    begin = begin4(high, low, close, volume)
    start = begin + p
    fill_nan(out, start)
    if start >= n:
        return
    pos_ring = np.empty(p, dtype=np.float64)
    neg_ring = np.empty(p, dtype=np.float64)
    slot = 0
    today = begin
    prev = (high[U(today)] + low[U(today)] + close[U(today)]) / 3.0
    pos_sum = 0.0
    neg_sum = 0.0
    null_run = 0
    today += 1
    while today < n:
        if today > start:
            pos_sum -= pos_ring[U(slot)]
            neg_sum -= neg_ring[U(slot)]
        typical = (high[U(today)] + low[U(today)] + close[U(today)]) / 3.0
        diff = typical - prev
        scale = abs(typical) + abs(prev)
        prev = typical
        flow = typical * volume[U(today)]
        money = 0.0 if abs(diff) <= EPSILON * scale else flow
        pos_flow = 0.0 if diff < 0.0 else money
        neg_flow = money if diff < 0.0 else 0.0
        pos_ring[U(slot)] = pos_flow
        neg_ring[U(slot)] = neg_flow
        pos_sum += pos_flow
        neg_sum += neg_flow
        null_run = null_run + 1 if money == 0.0 else 0
        if null_run >= p:
            null_run = p
            pos_sum = 0.0
            neg_sum = 0.0
        if today >= start:
            total = pos_sum + neg_sum
            clamped = 0.0 if pos_sum < 0.0 else (total if pos_sum > total else pos_sum)
            if total <= 0.0:
                out[U(today)] = 0.0
            else:
                out[U(today)] = 100.0 * (clamped / total)
        slot += 1
        if slot > p - 1:
            slot = 0
        today += 1


class MfiStream(Stream):
    """Incremental MFI: ``update(high, low, close, volume)`` returns the bar's MFI."""

    __slots__ = (
        "_count",
        "_neg",
        "_neg_ring",
        "_null_run",
        "_p",
        "_pos",
        "_pos_ring",
        "_prev",
        "_slot",
    )

    def __init__(self, timeperiod: int = 14) -> None:
        self._p = timeperiod
        self._pos_ring = [0.0] * timeperiod
        self._neg_ring = [0.0] * timeperiod
        self._slot = 0
        self._count = -1
        self._prev = 0.0
        self._pos = 0.0
        self._neg = 0.0
        self._null_run = 0

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        count = self._count
        if count < 0:
            self._count = 0
            self._prev = (high + low + close) / 3.0
            return NAN
        count += 1
        self._count = count
        p = self._p
        slot = self._slot
        pos_sum = self._pos
        neg_sum = self._neg
        if count > p:
            pos_sum -= self._pos_ring[slot]
            neg_sum -= self._neg_ring[slot]
        typical = (high + low + close) / 3.0
        diff = typical - self._prev
        scale = abs(typical) + abs(self._prev)
        self._prev = typical
        flow = typical * volume
        money = 0.0 if abs(diff) <= EPSILON * scale else flow
        pos_flow = 0.0 if diff < 0.0 else money
        neg_flow = money if diff < 0.0 else 0.0
        self._pos_ring[slot] = pos_flow
        self._neg_ring[slot] = neg_flow
        pos_sum += pos_flow
        neg_sum += neg_flow
        null_run = self._null_run + 1 if money == 0.0 else 0
        if null_run >= p:
            null_run = p
            pos_sum = 0.0
            neg_sum = 0.0
        self._null_run = null_run
        self._pos = pos_sum
        self._neg = neg_sum
        slot += 1
        self._slot = 0 if slot > p - 1 else slot
        if count < p:
            return NAN
        total = pos_sum + neg_sum
        clamped = 0.0 if pos_sum < 0.0 else (total if pos_sum > total else pos_sum)
        if total <= 0.0:
            return 0.0
        return 100.0 * (clamped / total)


@parallel_jit
def mfi_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    timeperiod: int,
    out: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        mfi_kernel(high[:, j], low[:, j], close[:, j], volume[:, j], timeperiod, out[:, j])


mfi = define(
    "mfi",
    group="momentum",
    summary="Money Flow Index (volume-weighted RSI of the typical price)",
    inputs=("high", "low", "close", "volume"),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 2),),
    lookback=lambda timeperiod: timeperiod,
    kernel=mfi_kernel,
    kernel_2d=mfi_kernel_2d,
    stream=MfiStream,
    source=_TA.format("MFI") + "; G. Quong and A. Soudack, Stocks & Commodities (1989)",
)


# ---------------------------------------------------------------------------------------------
# ULTOSC
# ---------------------------------------------------------------------------------------------


@jit
def nonzero(v: float) -> bool:
    """A usable divisor: neither 0 nor NaN (TA-Lib 0.8.1's guard on ULTOSC's sums)."""
    return v != 0.0 and v == v


@jit
def _ultosc_terms(
    high: FloatArray, low: FloatArray, close: FloatArray, i: int
) -> tuple[float, float]:
    """(close - true low, true range) of bar ``i``, with TA-Lib's comparisons."""
    lo = low[U(i)]
    hi = high[U(i)]
    prev_close = close[U(i - 1)]
    true_low = lo if lo < prev_close else prev_close
    buying = close[U(i)] - true_low
    true_range = hi - lo
    t = abs(prev_close - hi)
    if t > true_range:
        true_range = t
    t = abs(prev_close - lo)
    if t > true_range:
        true_range = t
    return buying, true_range


def sorted_periods(timeperiod1: int, timeperiod2: int, timeperiod3: int) -> tuple[int, int, int]:
    """The three periods shortest first: TA-Lib weights 4/2/1 by length, not by position."""
    shortest, middle, longest = sorted((timeperiod1, timeperiod2, timeperiod3))
    return shortest, middle, longest


@jit
def ultosc_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod1: int,
    timeperiod2: int,
    timeperiod3: int,
    out: FloatArray,
) -> None:
    """Ultimate Oscillator: 100 * (4 A1/B1 + 2 A2/B2 + A3/B3) / 7 over the sorted periods."""
    n = high.shape[0]
    if n == 0:
        return
    p1 = min(timeperiod1, min(timeperiod2, timeperiod3))
    p3 = max(timeperiod1, max(timeperiod2, timeperiod3))
    p2 = timeperiod1 + timeperiod2 + timeperiod3 - p1 - p3
    begin = begin3(high, low, close)
    start = begin + p3
    fill_nan(out, start)
    if start >= n:
        return
    ring_a = np.empty(p3, dtype=np.float64)
    ring_b = np.empty(p3, dtype=np.float64)
    a1 = 0.0
    b1 = 0.0
    a2 = 0.0
    b2 = 0.0
    a3 = 0.0
    b3 = 0.0
    slot = 0
    for i in range(start - p3 + 1, start):
        buying, true_range = _ultosc_terms(high, low, close, i)
        ring_a[U(slot)] = buying
        ring_b[U(slot)] = true_range
        slot += 1
        if slot > p3 - 1:
            slot = 0
        if i >= start - p1 + 1:
            a1 += buying
            b1 += true_range
        if i >= start - p2 + 1:
            a2 += buying
            b2 += true_range
        a3 += buying
        b3 += true_range
    trail1 = slot + p3 - p1 + 1
    if trail1 >= p3:
        trail1 -= p3
    trail2 = slot + p3 - p2 + 1
    if trail2 >= p3:
        trail2 -= p3
    for today in range(start, n):
        buying, true_range = _ultosc_terms(high, low, close, today)
        ring_a[U(slot)] = buying
        ring_b[U(slot)] = true_range
        a1 += buying
        a2 += buying
        a3 += buying
        b1 += true_range
        b2 += true_range
        b3 += true_range
        output = 0.0
        if nonzero(b1):
            output += 4.0 * (a1 / b1)
        if nonzero(b2):
            output += 2.0 * (a2 / b2)
        if nonzero(b3):
            output += a3 / b3
        a1 -= ring_a[U(trail1)]
        b1 -= ring_b[U(trail1)]
        trail1 += 1
        if trail1 >= p3:
            trail1 = 0
        a2 -= ring_a[U(trail2)]
        b2 -= ring_b[U(trail2)]
        trail2 += 1
        if trail2 >= p3:
            trail2 = 0
        slot += 1
        if slot > p3 - 1:
            slot = 0
        a3 -= ring_a[U(slot)]
        b3 -= ring_b[U(slot)]
        out[U(today)] = 100.0 * (output / 7.0)


class UltoscStream(Stream):
    """Incremental Ultimate Oscillator: ``update(high, low, close)``."""

    __slots__ = (
        "_a",
        "_b",
        "_count",
        "_p1",
        "_p2",
        "_p3",
        "_prev_close",
        "_ring_a",
        "_ring_b",
        "_slot",
        "_trail1",
        "_trail2",
    )

    def __init__(self, timeperiod1: int = 7, timeperiod2: int = 14, timeperiod3: int = 28) -> None:
        self._p1, self._p2, self._p3 = sorted_periods(timeperiod1, timeperiod2, timeperiod3)
        self._ring_a = [0.0] * self._p3
        self._ring_b = [0.0] * self._p3
        self._a = [0.0, 0.0, 0.0]
        self._b = [0.0, 0.0, 0.0]
        self._slot = 0
        self._trail1 = 0
        self._trail2 = 0
        self._count = -1
        self._prev_close = 0.0

    def update(self, high: float, low: float, close: float) -> float:
        count = self._count
        if count < 0:
            self._count = 0
            self._prev_close = close
            return NAN
        count += 1
        self._count = count
        prev_close = self._prev_close
        self._prev_close = close
        true_low = low if low < prev_close else prev_close
        buying = close - true_low
        true_range = high - low
        t = abs(prev_close - high)
        if t > true_range:
            true_range = t
        t = abs(prev_close - low)
        if t > true_range:
            true_range = t
        p1, p2, p3 = self._p1, self._p2, self._p3
        a = self._a
        b = self._b
        slot = self._slot
        self._ring_a[slot] = buying
        self._ring_b[slot] = true_range
        if count < p3:
            if count >= p3 - p1 + 1:
                a[0] += buying
                b[0] += true_range
            if count >= p3 - p2 + 1:
                a[1] += buying
                b[1] += true_range
            a[2] += buying
            b[2] += true_range
            slot += 1
            if slot > p3 - 1:
                slot = 0
            self._slot = slot
            if count == p3 - 1:
                self._init_trails()
            return NAN
        if count == p3 and p3 == 1:
            self._init_trails()
        a[0] += buying
        a[1] += buying
        a[2] += buying
        b[0] += true_range
        b[1] += true_range
        b[2] += true_range
        output = 0.0
        if b[0] != 0.0 and b[0] == b[0]:
            output += 4.0 * (a[0] / b[0])
        if b[1] != 0.0 and b[1] == b[1]:
            output += 2.0 * (a[1] / b[1])
        if b[2] != 0.0 and b[2] == b[2]:
            output += a[2] / b[2]
        ring_a = self._ring_a
        ring_b = self._ring_b
        trail = self._trail1
        a[0] -= ring_a[trail]
        b[0] -= ring_b[trail]
        trail += 1
        self._trail1 = 0 if trail >= p3 else trail
        trail = self._trail2
        a[1] -= ring_a[trail]
        b[1] -= ring_b[trail]
        trail += 1
        self._trail2 = 0 if trail >= p3 else trail
        slot += 1
        if slot > p3 - 1:
            slot = 0
        self._slot = slot
        a[2] -= ring_a[slot]
        b[2] -= ring_b[slot]
        return 100.0 * (output / 7.0)

    def _init_trails(self) -> None:
        p3 = self._p3
        trail = self._slot + p3 - self._p1 + 1
        self._trail1 = trail - p3 if trail >= p3 else trail
        trail = self._slot + p3 - self._p2 + 1
        self._trail2 = trail - p3 if trail >= p3 else trail


@parallel_jit
def ultosc_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod1: int,
    timeperiod2: int,
    timeperiod3: int,
    out: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        ultosc_kernel(
            high[:, j], low[:, j], close[:, j], timeperiod1, timeperiod2, timeperiod3, out[:, j]
        )


ultosc = define(
    "ultosc",
    group="momentum",
    summary="Ultimate Oscillator (weights 4/2/1 on the shortest/middle/longest period)",
    inputs=("high", "low", "close"),
    outputs=("real",),
    params=(
        int_param("timeperiod1", 7, 1),
        int_param("timeperiod2", 14, 1),
        int_param("timeperiod3", 28, 1),
    ),
    lookback=lambda timeperiod1, timeperiod2, timeperiod3: max(
        timeperiod1, timeperiod2, timeperiod3
    ),
    kernel=ultosc_kernel,
    kernel_2d=ultosc_kernel_2d,
    stream=UltoscStream,
    source=_TA.format("ULTOSC") + "; L. Williams, Stocks & Commodities (1985)",
)
