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
before their loop, as TA-Lib does. Each stream step performs the same floating-point
operations in the same order as its kernel, so stream and batch agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import uint64 as U

from moonlight.indicators import _declarations, _ma
from moonlight.indicators._define import implement
from moonlight.indicators._jit import jit
from moonlight.indicators._kernels import FloatArray, begin1, begin3, begin4, fill_nan

NAN = math.nan
NAN2 = (NAN, NAN)

#: TA-Lib's ``TA_EPSILON`` (1e-14): the width of its relative "is zero" bands.
EPSILON = 1e-14


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


@jit
def cmo_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Chande Momentum Oscillator on Wilder averages: 100 * (gain - loss) / (gain + loss)."""
    _wilder_gain_loss(real, timeperiod, unstable, True, out)


def _gain_loss_state(timeperiod: int, unstable: int, cmo: bool) -> list[float]:
    """RSI/CMO stream: ``[period, 1/period, warmup, cmo, bars, prev, gain, loss]``."""
    warmup = float(timeperiod + unstable)
    return [float(timeperiod), 1.0 / timeperiod, warmup, float(cmo), -1.0, 0.0, 0.0, 0.0]


def rsi_state(timeperiod: int = 14, unstable: int = 0) -> list[float]:
    return _gain_loss_state(timeperiod, unstable, False)


def cmo_state(timeperiod: int = 14, unstable: int = 0) -> list[float]:
    return _gain_loss_state(timeperiod, unstable, True)


@jit
def gain_loss_step(st: FloatArray, at: int, real: float) -> float:
    """One RSI (or CMO) bar: the stream twin of ``_wilder_gain_loss``."""
    s = st[at:]
    bars = s[4] + 1.0
    if bars <= s[2]:
        s[4] = bars
    if bars == 0.0:
        s[5] = real
        return NAN
    diff = real - s[5]
    s[5] = real
    p = int(s[0])
    gain = s[6]
    loss = s[7]
    if bars > p:
        loss *= p - 1
        gain *= p - 1
    cmo = s[3] != 0.0
    if cmo:
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
            loss *= s[1]
            gain *= s[1]
    s[6] = gain
    s[7] = loss
    if bars < s[2]:
        return NAN
    return _ratio(gain, loss, cmo)


rsi = implement("rsi", globals(), step=gain_loss_step)

cmo = implement("cmo", globals(), step=gain_loss_step)


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


def lag_state(timeperiod: int = 10) -> list[float]:
    """MOM/ROC stream: ``[period, count, pos, ring(period + 1)]``."""
    return [float(timeperiod), 0.0, 0.0, *([0.0] * (timeperiod + 1))]


@jit
def _lagged(s: FloatArray, real: float) -> float:
    """Store the bar; return the value ``period`` bars back (NaN until there is one)."""
    size = int(s[0]) + 1
    pos = int(s[2])
    s[3 + pos] = real
    pos += 1
    if pos == size:
        pos = 0
    s[2] = pos
    if s[1] < s[0]:
        s[1] += 1.0
        return NAN
    return s[3 + pos]  # type: ignore[no-any-return]


@jit
def mom_step(st: FloatArray, at: int, real: float) -> float:
    """One MOM bar: ``real - real[timeperiod bars ago]``."""
    return real - _lagged(st[at:], real)


@jit
def roc_step(st: FloatArray, at: int, real: float) -> float:
    """One ROC bar in percent; 0 on a zero base."""
    base = _lagged(st[at:], real)
    if base != base:
        return NAN
    if base != 0.0:
        return (real / base - 1.0) * 100.0
    return 0.0


mom = implement("mom", globals(), state=lag_state)

roc = implement("roc", globals(), state=lag_state)


# ---------------------------------------------------------------------------------------------
# Window extremes (van Herk/Gil-Werman) for WILLR and STOCHRSI
# ---------------------------------------------------------------------------------------------


@jit
def flat_range(highest: float, lowest: float) -> bool:
    """TA-Lib 0.8's flatness test: the range is within 1e-14 of ``|highest| + |lowest|``."""
    return abs(highest - lowest) <= EPSILON * (abs(highest) + abs(lowest))


@jit
def extreme_value(highest: float, lowest: float, close: float, willr: bool) -> float:
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
def block_scan(
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
        out[U(today)] = extreme_value(suf_high[0], suf_low[0], close[U(today)], willr)
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
            out[U(bar)] = extreme_value(hi, lo, close[U(bar)], willr)
        today += avail
        block = nxt


def extremes_state(period: int) -> list[float]:
    """Window extremes (stream twin of ``block_scan``): ``[period, count, pre_high,
    pre_low, block_high(period), block_low(period), suffix_high(period),
    suffix_low(period)]``."""
    return [float(period), 0.0, 0.0, 0.0, *([0.0] * (4 * period))]


@jit
def extremes_step(st: FloatArray, at: int, high: float, low: float) -> tuple[bool, float, float]:
    """Take bar k (k = 0 at the first valid bar); from bar ``period - 1`` on return
    ``(True, highest, lowest)`` exactly as the batch block scan combines them.

    O(1) a bar, plus one O(period) backward scan when a block completes.
    """
    s = st[at:]
    p = int(s[0])
    k = int(s[1])
    s[1] = k + 1 if k + 1 < 2 * p else k + 1 - p
    pos = k % p
    block_high = 4
    block_low = 4 + p
    suffix_high = 4 + 2 * p
    suffix_low = 4 + 3 * p
    if pos == p - 1:
        hi = high
        lo = low
        s[suffix_high + p - 1] = hi
        s[suffix_low + p - 1] = lo
        for i in range(p - 2, -1, -1):
            t = s[block_high + i]
            if t > hi:
                hi = t
            t = s[block_low + i]
            if t < lo:
                lo = t
            s[suffix_high + i] = hi
            s[suffix_low + i] = lo
        return True, hi, lo
    s[block_high + pos] = high
    s[block_low + pos] = low
    if k < p:
        return False, NAN, NAN
    if pos == 0 or high > s[2]:
        s[2] = high
    if pos == 0 or low < s[3]:
        s[3] = low
    hi = s[suffix_high + pos + 1]
    if s[2] > hi:
        hi = s[2]
    lo = s[suffix_low + pos + 1]
    if s[3] < lo:
        lo = s[3]
    return True, hi, lo


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
    block_scan(high, low, close, begin, timeperiod, True, out)


def willr_state(timeperiod: int = 14) -> list[float]:
    """WILLR stream: the window extremes' state (:func:`extremes_state`)."""
    return extremes_state(timeperiod)


@jit
def willr_step(st: FloatArray, at: int, high: float, low: float, close: float) -> float:
    """One Williams' %R bar from the window extremes."""
    ready, highest, lowest = extremes_step(st, at, high, low)
    if not ready:
        return NAN
    return extreme_value(highest, lowest, close, True)


willr = implement("willr", globals())


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
    block_scan(fastd, fastd, fastd, rsi_first, fastk_period, False, fastk)
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


def stochrsi_state(
    timeperiod: int = 14,
    fastk_period: int = 5,
    fastd_period: int = 3,
    fastd_matype: int = 0,
    unstable: int = 0,
    ema_unstable: int = 0,
    kama_unstable: int = 0,
    t3_unstable: int = 0,
) -> list[float]:
    """Stochastic RSI stream: ``[rsi_warmup, warmup, bar, extremes_at, ma_at, RSI state,
    extremes of the RSI, %D MA state]``."""
    rsi_warmup = timeperiod + unstable
    ma_unstable = (ema_unstable, kama_unstable, t3_unstable)
    warmup = (
        rsi_warmup
        + fastk_period
        - 1
        + _declarations.ma_lookback(fastd_period, fastd_matype, *ma_unstable)
    )
    rsi = rsi_state(timeperiod, unstable)
    extremes = extremes_state(fastk_period)
    extremes_at = _STOCHRSI_RSI + len(rsi)
    header = [float(rsi_warmup), float(warmup), 0.0, float(extremes_at)]
    header.append(float(extremes_at + len(extremes)))
    ma = _ma.ma_state(fastd_period, fastd_matype, *ma_unstable)
    return [*header, *rsi, *extremes, *ma]


_STOCHRSI_RSI = 5


@jit
def stochrsi_step(st: FloatArray, at: int, real: float) -> tuple[float, float]:
    """One Stochastic RSI bar: the RSI, its window extremes, %K, and %K's MA as %D."""
    s = st[at:]
    bar = s[2]
    if bar <= s[1]:
        s[2] = bar + 1.0
    rsi = gain_loss_step(st, at + _STOCHRSI_RSI, real)
    if bar < s[0]:
        return NAN2
    ready, highest, lowest = extremes_step(st, at + int(s[3]), rsi, rsi)
    if not ready:
        return NAN2
    k = extreme_value(highest, lowest, rsi, False)
    d = _ma.ma_step(st, at + int(s[4]), k)
    if bar < s[1]:
        return NAN2
    return k, d


stochrsi = implement("stochrsi", globals())


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


def cci_state(timeperiod: int = 14) -> list[float]:
    """CCI stream: ``[period, slot, count, ring(period)]`` of typical prices."""
    return [float(timeperiod), 0.0, 0.0, *([0.0] * timeperiod)]


@jit
def cci_step(st: FloatArray, at: int, high: float, low: float, close: float) -> float:
    """One CCI bar; O(timeperiod) like TA-Lib (mean and deviation summed slot by slot)."""
    s = st[at:]
    p = int(s[0])
    last = (high + low + close) / 3
    slot = int(s[1])
    s[3 + slot] = last
    slot += 1
    s[1] = 0 if slot > p - 1 else slot
    if s[2] < p - 1:
        s[2] += 1.0
        return NAN
    average = 0.0
    for j in range(p):
        average += s[3 + j]
    average /= p
    deviation = 0.0
    for j in range(p):
        deviation += abs(s[3 + j] - average)
    deviation /= p
    delta = last - average
    level = EPSILON * abs(average)
    if abs(delta) <= level or abs(deviation) <= level:
        return 0.0
    return delta / (0.015 * deviation)


cci = implement("cci", globals())


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


def mfi_state(timeperiod: int = 14) -> list[float]:
    """MFI stream: ``[period, count, slot, prev, pos_sum, neg_sum, null_run,
    pos_ring(period), neg_ring(period)]``."""
    return [float(timeperiod), -1.0, *([0.0] * 5), *([0.0] * (2 * timeperiod))]


@jit
def mfi_step(
    st: FloatArray, at: int, high: float, low: float, close: float, volume: float
) -> float:
    """One MFI bar, TA-Lib 0.8 rules (see :func:`mfi_kernel`)."""
    s = st[at:]
    p = int(s[0])
    count = s[1]
    if count < 0.0:
        s[1] = 0.0
        s[3] = (high + low + close) / 3.0
        return NAN
    if count <= p:
        count += 1.0
        s[1] = count
    slot = int(s[2])
    pos_sum = s[4]
    neg_sum = s[5]
    if count > p:
        pos_sum -= s[7 + slot]
        neg_sum -= s[7 + p + slot]
    typical = (high + low + close) / 3.0
    diff = typical - s[3]
    scale = abs(typical) + abs(s[3])
    s[3] = typical
    flow = typical * volume
    money = 0.0 if abs(diff) <= EPSILON * scale else flow
    pos_flow = 0.0 if diff < 0.0 else money
    neg_flow = money if diff < 0.0 else 0.0
    s[7 + slot] = pos_flow
    s[7 + p + slot] = neg_flow
    pos_sum += pos_flow
    neg_sum += neg_flow
    null_run = s[6] + 1.0 if money == 0.0 else 0.0
    if null_run >= p:
        null_run = float(p)
        pos_sum = 0.0
        neg_sum = 0.0
    s[6] = null_run
    s[4] = pos_sum
    s[5] = neg_sum
    slot += 1
    s[2] = 0 if slot > p - 1 else slot
    if count < p:
        return NAN
    total = pos_sum + neg_sum
    clamped = 0.0 if pos_sum < 0.0 else (total if pos_sum > total else pos_sum)
    if total <= 0.0:
        return 0.0
    return 100.0 * (clamped / total)  # type: ignore[no-any-return]


mfi = implement("mfi", globals())


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


def ultosc_state(timeperiod1: int = 7, timeperiod2: int = 14, timeperiod3: int = 28) -> list[float]:
    """ULTOSC stream: ``[p1, p2, p3 (shortest first), count, prev_close, slot, trail1,
    trail2, a(3), b(3), ring_a(p3), ring_b(p3)]``."""
    p1, p2, p3 = sorted_periods(timeperiod1, timeperiod2, timeperiod3)
    return [float(p1), float(p2), float(p3), -1.0, *([0.0] * 10), *([0.0] * (2 * p3))]


@jit
def _ultosc_trails(s: FloatArray) -> None:
    """Where the two shorter sums' trailing bars sit in the rings (the kernel's setup)."""
    p3 = int(s[2])
    trail = int(s[5]) + p3 - int(s[0]) + 1
    s[6] = trail - p3 if trail >= p3 else trail
    trail = int(s[5]) + p3 - int(s[1]) + 1
    s[7] = trail - p3 if trail >= p3 else trail


@jit
def ultosc_step(st: FloatArray, at: int, high: float, low: float, close: float) -> float:
    """One Ultimate Oscillator bar: three running sums over one pair of rings."""
    s = st[at:]
    count = s[3]
    if count < 0.0:
        s[3] = 0.0
        s[4] = close
        return NAN
    p1 = int(s[0])
    p2 = int(s[1])
    p3 = int(s[2])
    if count <= p3:
        count += 1.0
        s[3] = count
    prev_close = s[4]
    s[4] = close
    true_low = low if low < prev_close else prev_close
    buying = close - true_low
    true_range = high - low
    t = abs(prev_close - high)
    if t > true_range:
        true_range = t
    t = abs(prev_close - low)
    if t > true_range:
        true_range = t
    ring_a = 14
    ring_b = 14 + p3
    slot = int(s[5])
    s[ring_a + slot] = buying
    s[ring_b + slot] = true_range
    if count < p3:
        if count >= p3 - p1 + 1:
            s[8] += buying
            s[11] += true_range
        if count >= p3 - p2 + 1:
            s[9] += buying
            s[12] += true_range
        s[10] += buying
        s[13] += true_range
        slot += 1
        if slot > p3 - 1:
            slot = 0
        s[5] = slot
        if count == p3 - 1:
            _ultosc_trails(s)
        return NAN
    if count == p3 and p3 == 1:
        _ultosc_trails(s)
    for j in range(8, 11):
        s[j] += buying
    for j in range(11, 14):
        s[j] += true_range
    output = 0.0
    if nonzero(s[11]):
        output += 4.0 * (s[8] / s[11])
    if nonzero(s[12]):
        output += 2.0 * (s[9] / s[12])
    if nonzero(s[13]):
        output += s[10] / s[13]
    trail = int(s[6])
    s[8] -= s[ring_a + trail]
    s[11] -= s[ring_b + trail]
    trail += 1
    s[6] = 0 if trail >= p3 else trail
    trail = int(s[7])
    s[9] -= s[ring_a + trail]
    s[12] -= s[ring_b + trail]
    trail += 1
    s[7] = 0 if trail >= p3 else trail
    slot += 1
    if slot > p3 - 1:
        slot = 0
    s[5] = slot
    s[10] -= s[ring_a + slot]
    s[13] -= s[ring_b + slot]
    return 100.0 * (output / 7.0)


ultosc = implement("ultosc", globals())
