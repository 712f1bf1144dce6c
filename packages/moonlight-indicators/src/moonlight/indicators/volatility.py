"""Volatility indicators: trange, atr, natr, supertrend, kc (alias keltner) and donchian.

Each kernel reproduces TA-Lib 0.8.2 (C library 0.8.1) operation for operation, so values
match bit for bit, not only within tolerance:

* leading bars where any input is NaN are skipped, as TA-Lib's Python wrapper does;
* the True Range starts from ``high - low`` and is replaced by ``|close[t-1] - high|`` then
  ``|close[t-1] - low|`` only on a strict ``>`` -- a NaN previous close is ignored, a NaN
  high or low gives NaN, exactly as in C;
* Wilder smoothing is TA-Lib 0.8's two-coefficient step ``beta * prev + alpha * tr`` with
  ``beta = (period - 1) / period`` and ``alpha = 1 - beta``, which the C build contracts
  into one fused multiply-add (``_kernels.fma``); the seed is a sum from 0.0 divided once;
* kc's EMA step ``(tp - prev) * k + prev`` is likewise one fused multiply-add;
* the unstable periods (``set_unstable_period("ATR"/"NATR"/"EMA", n)``) lengthen the
  warm-up the way TA-Lib does.

Kernels are plain loops over 1-D float64 arrays writing into caller-supplied outputs; they
are importable so a strategy's own ``@njit`` code can call them. Each stream step does the
same floating-point operations in the same order, fused ones included.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from moonlight.indicators._declarations import kc_lookback
from moonlight.indicators._define import implement
from moonlight.indicators._jit import jit
from moonlight.indicators._kernels import begin2, begin3, fill_nan, fill_zero, fma

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

NAN = math.nan
NAN3 = (NAN, NAN, NAN)
#: TA-Lib's ``TA_REAL_MAX``: the upper bound of its real-valued parameters.
TA_REAL_MAX = 3e37


# ---------------------------------------------------------------------------------------------
# the shared True Range and Wilder coefficients
# ---------------------------------------------------------------------------------------------


@jit
def true_range(high: float, low: float, prev_close: float) -> float:
    """TA-Lib's True Range of one bar, comparison order and NaN behaviour included."""
    greatest = high - low
    val2 = abs(prev_close - high)
    if val2 > greatest:
        greatest = val2
    val3 = abs(prev_close - low)
    if val3 > greatest:
        greatest = val3
    return greatest


def wilder_coefficients(timeperiod: int) -> tuple[float, float]:
    """``(alpha, beta)`` of TA-Lib 0.8's Wilder step; ``alpha + beta == 1`` exactly."""
    beta = (timeperiod - 1) / timeperiod
    return 1.0 - beta, beta


@jit
def atr_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    first_tr: int,
    start: int,
    out: FloatArray,
) -> None:
    """Wilder ATR seeded with the mean True Range of bars ``first_tr .. first_tr+period-1``.

    Writes ``out[start:]``; the bars between the seed and ``start`` are the unstable
    period. At period 1 the coefficients are (alpha, beta) = (1, 0): there is no True
    Range shortcut, so a NaN is carried forward exactly as TA-Lib carries it.
    """
    n = high.shape[0]
    h = high[first_tr:]
    lo = low[first_tr:]
    pc = close[first_tr - 1 : n - 1]
    o = out[first_tr:]
    total = 0.0
    for i in range(timeperiod):
        total += true_range(h[i], lo[i], pc[i])
    prev = total / timeperiod
    beta = (timeperiod - 1) / timeperiod
    alpha = 1.0 - beta
    first_out = start - first_tr
    for i in range(timeperiod, first_out + 1):
        prev = fma(beta, prev, alpha * true_range(h[i], lo[i], pc[i]))
    o[first_out] = prev
    for i in range(first_out + 1, n - first_tr):
        prev = fma(beta, prev, alpha * true_range(h[i], lo[i], pc[i]))
        o[i] = prev


# ---------------------------------------------------------------------------------------------
# trange
# ---------------------------------------------------------------------------------------------


@jit
def trange_kernel(high: FloatArray, low: FloatArray, close: FloatArray, out: FloatArray) -> None:
    """True Range: max(high - low, |prev close - high|, |prev close - low|); 1 bar warm-up."""
    n = high.shape[0]
    if n == 0:
        return
    start = begin3(high, low, close) + 1
    fill_nan(out, start)
    if start >= n:
        return
    # Zero-based loops over slices: the compiler then knows no index is negative, drops
    # the wrap-around test and vectorises (a loop from a run-time start keeps it).
    h = high[start:]
    lo = low[start:]
    prev_close = close[start - 1 : n - 1]
    o = out[start:]
    for i in range(n - start):
        o[i] = true_range(h[i], lo[i], prev_close[i])


def trange_state() -> list[float]:
    """TRANGE stream: ``[started, prev_close]``."""
    return [0.0, NAN]


@jit
def trange_step(st: FloatArray, at: int, high: float, low: float, close: float) -> float:
    """One True Range bar: NaN on the first bar, then the kernel's comparisons."""
    s = st[at:]
    prev_close = s[1]
    s[1] = close
    if s[0] == 0.0:
        s[0] = 1.0
        return NAN
    return true_range(high, low, prev_close)


trange = implement("trange", globals())

# ---------------------------------------------------------------------------------------------
# atr and natr
# ---------------------------------------------------------------------------------------------


@jit
def atr_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    """Average True Range (Wilder); warm-up ``timeperiod + unstable`` bars."""
    n = high.shape[0]
    if n == 0:
        return
    lookback = timeperiod + unstable
    start = begin3(high, low, close) + lookback
    fill_nan(out, start)
    if start >= n:
        return
    atr_into(high, low, close, timeperiod, start - lookback + 1, start, out)


def atr_state(timeperiod: int = 14, unstable: int = 0) -> list[float]:
    """ATR stream (also NATR's and SuperTrend's leg): ``[period, lookback, alpha, beta,
    count, prev, prev_close]``.

    Bar 0 (the first valid bar) only provides the previous close; bars 1..period seed
    the average; the ``unstable`` bars after the seed are computed but reported as NaN.
    ``count`` saturates at ``lookback + 1`` (from then on every bar has a value).
    """
    alpha, beta = wilder_coefficients(timeperiod)
    return [float(timeperiod), float(timeperiod + unstable), alpha, beta, 0.0, 0.0, NAN]


_ATR_SIZE = 7


@jit
def _atr_advance(s: FloatArray, high: float, low: float, close: float) -> float:
    """Advance the ATR leg one bar; return the ATR (NaN before the seed bar)."""
    period = int(s[0])
    i = s[4]
    prev_close = s[6]
    s[6] = close
    if i > period:
        if i <= s[1]:
            s[4] = i + 1.0
        prev = fma(s[3], s[5], s[2] * true_range(high, low, prev_close))
        s[5] = prev
        return prev
    s[4] = i + 1.0
    if i == 0.0:
        return NAN
    total = s[5] + true_range(high, low, prev_close)
    if i < period:
        s[5] = total
        return NAN
    prev = total / period
    s[5] = prev
    return prev  # type: ignore[no-any-return]


@jit
def atr_step(st: FloatArray, at: int, high: float, low: float, close: float) -> float:
    """One ATR bar: True Range seed, then TA-Lib 0.8's fused Wilder step."""
    s = st[at:]
    value = _atr_advance(s, high, low, close)
    return NAN if s[4] <= s[1] else value


@jit
def natr_step(st: FloatArray, at: int, high: float, low: float, close: float) -> float:
    """One NATR bar: the ATR over the bar's close, times 100 (period 1: the ATR itself)."""
    s = st[at:]
    value = _atr_advance(s, high, low, close)
    if s[4] <= s[1]:
        return NAN
    if s[0] <= 1.0:
        return value
    if close != 0.0:
        return value / close * 100.0
    return 0.0


atr = implement("atr", globals())


@jit
def natr_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    """Normalised ATR: ``ATR / close * 100`` (0.0 where close is exactly 0).

    As in TA-Lib, ``timeperiod == 1`` returns the ATR(1) itself, not normalised.
    """
    n = high.shape[0]
    if n == 0:
        return
    lookback = timeperiod + unstable
    start = begin3(high, low, close) + lookback
    fill_nan(out, start)
    if start >= n:
        return
    atr_into(high, low, close, timeperiod, start - lookback + 1, start, out)
    if timeperiod <= 1:
        return
    o = out[start:]
    cl = close[start:]
    for i in range(n - start):
        c = cl[i]
        o[i] = o[i] / c * 100.0 if c != 0.0 else 0.0


natr = implement("natr", globals(), state=atr_state)

# ---------------------------------------------------------------------------------------------
# supertrend
# ---------------------------------------------------------------------------------------------


@jit
def supertrend_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    multiplier: float,
    unstable: int,
    out: FloatArray,
    trend: IntArray,
) -> None:
    """SuperTrend line and trend (+1 long, -1 short, 0 during warm-up), TA-Lib 0.8 rules.

    Bands are ``(high + low) / 2 ± multiplier · ATR``; each ratchets toward price and is
    released only by a previous close on its far side; the trend starts long on the first
    output bar and flips when the close crosses the band it follows.
    """
    n = high.shape[0]
    if n == 0:
        return
    lookback = timeperiod + unstable
    start = begin3(high, low, close) + lookback
    fill_nan(out, start)
    fill_zero(trend, start)
    if start >= n:
        return
    first_tr = start - lookback + 1
    hs = high[first_tr:]
    ls = low[first_tr:]
    pcs = close[first_tr - 1 : n - 1]
    total = 0.0
    for i in range(timeperiod):
        total += true_range(hs[i], ls[i], pcs[i])
    prev_atr = total / timeperiod
    beta = (timeperiod - 1) / timeperiod
    alpha = 1.0 - beta
    for i in range(timeperiod, lookback):
        prev_atr = fma(beta, prev_atr, alpha * true_range(hs[i], ls[i], pcs[i]))
    median = (high[start] + low[start]) / 2.0
    band = multiplier * prev_atr
    final_upper = median + band
    final_lower = median - band
    up = True
    prev_close = close[start]
    out[start] = final_lower
    trend[start] = 1
    hs = high[start + 1 :]
    ls = low[start + 1 :]
    cs = close[start + 1 :]
    os = out[start + 1 :]
    trs = trend[start + 1 :]
    for i in range(n - start - 1):
        h = hs[i]
        lo = ls[i]
        prev_atr = fma(beta, prev_atr, alpha * true_range(h, lo, prev_close))
        median = (h + lo) / 2.0
        band = multiplier * prev_atr
        basic_upper = median + band
        basic_lower = median - band
        if basic_upper < final_upper or prev_close > final_upper:
            final_upper = basic_upper
        if basic_lower > final_lower or prev_close < final_lower:
            final_lower = basic_lower
        c = cs[i]
        if up:
            if c < final_lower:
                up = False
        elif c > final_upper:
            up = True
        if up:
            os[i] = final_lower
            trs[i] = 1
        else:
            os[i] = final_upper
            trs[i] = -1
        prev_close = c


def supertrend_state(
    timeperiod: int = 10, multiplier: float = 3.0, unstable: int = 0
) -> list[float]:
    """SuperTrend stream: the ATR leg (:func:`atr_state`), then ``[multiplier, started,
    upper, lower, up]``."""
    return [*atr_state(timeperiod, unstable), multiplier, 0.0, 0.0, 0.0, 0.0]


@jit
def supertrend_step(
    st: FloatArray, at: int, high: float, low: float, close: float
) -> tuple[float, int]:
    """One SuperTrend bar in the kernel's order of operations.

    On the first output bar the bands are seeded and the trend starts long; later the
    bands ratchet toward price and the trend flips when the close crosses its band.
    """
    s = st[at:]
    bands = _ATR_SIZE
    prev_close = s[6]
    started = s[bands + 1] != 0.0
    count = s[4]
    atr = _atr_advance(s, high, low, close)
    if not started:
        if count < s[1]:
            return NAN, 0
        s[bands + 1] = 1.0
        median = (high + low) / 2.0
        band = s[bands] * atr
        s[bands + 2] = median + band
        s[bands + 3] = median - band
        s[bands + 4] = 1.0
        return s[bands + 3], 1
    median = (high + low) / 2.0
    band = s[bands] * atr
    basic_upper = median + band
    basic_lower = median - band
    upper = s[bands + 2]
    lower = s[bands + 3]
    if basic_upper < upper or prev_close > upper:
        upper = basic_upper
    if basic_lower > lower or prev_close < lower:
        lower = basic_lower
    s[bands + 2] = upper
    s[bands + 3] = lower
    up = s[bands + 4] != 0.0
    if up:
        if close < lower:
            up = False
    elif close > upper:
        up = True
    s[bands + 4] = 1.0 if up else 0.0
    if up:
        return lower, 1
    return upper, -1


supertrend = implement("supertrend", globals())

# ---------------------------------------------------------------------------------------------
# kc (Keltner Channels)
# ---------------------------------------------------------------------------------------------


@jit
def kc_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    atrperiod: int,
    nbdev: float,
    ema_unstable: int,
    atr_unstable: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    """Keltner Channels: EMA(typical price) ± nbdev · ATR, TA-Lib 0.8 seeding.

    The warm-up is the longer of the two legs' lookbacks, and each leg is seeded at its own
    lookback before the first output -- so the shorter leg starts later than it would alone
    (TA_KC enters TA_EMA and TA_ATR at their own lookbacks).
    """
    n = high.shape[0]
    if n == 0:
        return
    ema_lookback = timeperiod - 1 + ema_unstable
    atr_lookback = atrperiod + atr_unstable
    lookback = max(ema_lookback, atr_lookback)
    start = begin3(high, low, close) + lookback
    fill_nan(upper, start)
    fill_nan(middle, start)
    fill_nan(lower, start)
    if start >= n:
        return
    # ATR leg into `upper` (scratch), then the EMA of the typical price into `middle`.
    atr_into(high, low, close, atrperiod, start - atr_lookback + 1, start, upper)
    k = 2.0 / (timeperiod + 1)
    first_tp = start - ema_lookback
    hs = high[first_tp:]
    ls = low[first_tp:]
    cs = close[first_tp:]
    ms = middle[first_tp:]
    total = 0.0
    for i in range(timeperiod):
        total += (hs[i] + ls[i] + cs[i]) / 3.0
    prev = total / timeperiod
    for i in range(timeperiod, ema_lookback + 1):
        prev = fma((hs[i] + ls[i] + cs[i]) / 3.0 - prev, k, prev)
    ms[ema_lookback] = prev
    for i in range(ema_lookback + 1, n - first_tp):
        prev = fma((hs[i] + ls[i] + cs[i]) / 3.0 - prev, k, prev)
        ms[i] = prev
    us = upper[start:]
    mids = middle[start:]
    lows = lower[start:]
    for i in range(n - start):
        width = us[i] * nbdev
        mid = mids[i]
        us[i] = mid + width
        lows[i] = mid - width


def kc_state(
    timeperiod: int = 20,
    atrperiod: int = 10,
    nbdev: float = 2.0,
    ema_unstable: int = 0,
    atr_unstable: int = 0,
) -> list[float]:
    """Keltner stream: ``[timeperiod, atrperiod, nbdev, lookback, atr_start, atr_end,
    ema_start, ema_end, alpha, beta, k, count, atr, ema, prev_close]``.

    Bars are numbered from 0 at the first valid bar; with ``L`` the indicator's
    lookback, the ATR leg sums True Ranges from bar ``L - atr_lookback + 1`` and the EMA
    leg sums typical prices from bar ``L - ema_lookback``, exactly where the kernel
    seeds them.
    """
    lookback = kc_lookback(timeperiod, atrperiod, nbdev, ema_unstable, atr_unstable)
    atr_start = lookback - atrperiod - atr_unstable + 1
    ema_start = lookback - (timeperiod - 1 + ema_unstable)
    alpha, beta = wilder_coefficients(atrperiod)
    legs = [atr_start, atr_start + atrperiod - 1, ema_start, ema_start + timeperiod - 1]
    header = [float(timeperiod), float(atrperiod), nbdev, float(lookback)]
    return [*header, *map(float, legs), alpha, beta, 2.0 / (timeperiod + 1), 0.0, 0.0, 0.0, NAN]


@jit
def kc_step(
    st: FloatArray, at: int, high: float, low: float, close: float
) -> tuple[float, float, float]:
    """One Keltner bar: the fused Wilder and EMA steps, then the bands (kernel's order)."""
    s = st[at:]
    i = s[11]
    prev_close = s[14]
    s[14] = close
    if i <= s[3]:
        s[11] = i + 1.0
    if i >= s[4]:
        if i > s[5]:
            s[12] = fma(s[9], s[12], s[8] * true_range(high, low, prev_close))
        else:
            total = s[12] + true_range(high, low, prev_close)
            s[12] = total / s[1] if i == s[5] else total
    if i >= s[6]:
        typical = (high + low + close) / 3.0
        if i > s[7]:
            s[13] = fma(typical - s[13], s[10], s[13])
        else:
            total = s[13] + typical
            s[13] = total / s[0] if i == s[7] else total
    if i < s[3]:
        return NAN3
    ema = s[13]
    width = s[12] * s[2]
    return ema + width, ema, ema - width


kc = implement("kc", globals())

# ---------------------------------------------------------------------------------------------
# donchian
# ---------------------------------------------------------------------------------------------


@jit
def _donchian_blocks(
    high: FloatArray,
    low: FloatArray,
    timeperiod: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    """Window extremes by van Herk / Gil-Werman blocks: O(n), three compares per bar.

    Within blocks of ``timeperiod`` bars, prefix extremes go into ``upper``/``lower`` and
    suffix extremes into ``middle``/a scratch array; the window ending at ``t`` spans at
    most two blocks, so its extreme is the better of the suffix at its first bar and the
    prefix at ``t``. No branch depends on the prices, unlike a deque (pops) or TA-Lib's
    cached extreme (rescans whenever the extreme leaves the window). Only for NaN-free
    input, where it gives TA-Lib's values exactly.
    """
    n = high.shape[0]
    p = timeperiod
    suffix_low = np.empty(n)
    for b in range(0, n, p):
        e = min(b + p, n)
        k = e - b
        hs = high[b:e]
        ls = low[b:e]
        us = upper[b:e]
        los = lower[b:e]
        ms = middle[b:e]
        ss = suffix_low[b:e]
        hi = hs[0]
        lo = ls[0]
        us[0] = hi
        los[0] = lo
        for i in range(1, k):
            v = hs[i]
            hi = v if v > hi else hi
            us[i] = hi
            w = ls[i]
            lo = w if w < lo else lo
            los[i] = lo
        hi = hs[k - 1]
        lo = ls[k - 1]
        ms[k - 1] = hi
        ss[k - 1] = lo
        for j in range(1, k):
            i = k - 1 - j
            v = hs[i]
            hi = v if v > hi else hi
            ms[i] = hi
            w = ls[i]
            lo = w if w < lo else lo
            ss[i] = lo
    # Backwards, so middle[i] (a suffix maximum) is read before middle[i + p - 1] is written.
    m = n - p + 1
    suffix_high = middle[:m]
    suffix_lo = suffix_low[:m]
    ub = upper[p - 1 :]
    lb = lower[p - 1 :]
    mb = middle[p - 1 :]
    for j in range(m):
        i = m - 1 - j
        a = suffix_high[i]
        g = ub[i]
        hi = a if a > g else g
        a = suffix_lo[i]
        g = lb[i]
        lo = a if a < g else g
        ub[i] = hi
        lb[i] = lo
        mb[i] = (hi + lo) / 2.0


@jit
def _donchian_scan(
    high: FloatArray,
    low: FloatArray,
    timeperiod: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    """TA-Lib's own algorithm, for input holding NaN: its NaN rules come with it.

    The extreme and its bar are cached and the window rescanned when that bar leaves it;
    so a NaN arriving is ignored (comparisons are false) but a rescan that starts on a
    NaN bar yields NaN until that bar leaves the window.
    """
    n = high.shape[0]
    p = timeperiod
    highest_idx = -1
    highest = 0.0
    lowest_idx = -1
    lowest = 0.0
    for today in range(p - 1, n):
        trailing = today - p + 1
        tmp = high[today]
        if highest_idx < trailing:
            highest_idx = trailing
            highest = high[trailing]
            for i in range(trailing + 1, today + 1):
                tmp = high[i]
                if tmp > highest:
                    highest_idx = i
                    highest = tmp
        elif tmp >= highest:
            highest_idx = today
            highest = tmp
        tmp = low[today]
        if lowest_idx < trailing:
            lowest_idx = trailing
            lowest = low[trailing]
            for i in range(trailing + 1, today + 1):
                tmp = low[i]
                if tmp < lowest:
                    lowest_idx = i
                    lowest = tmp
        elif tmp <= lowest:
            lowest_idx = today
            lowest = tmp
        upper[today] = highest
        lower[today] = lowest
        middle[today] = (highest + lowest) / 2.0


@jit
def donchian_kernel(
    high: FloatArray,
    low: FloatArray,
    timeperiod: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    """Donchian Channels: highest high, midpoint and lowest low of the last ``timeperiod`` bars.

    NaN-free input (the usual case) takes the O(n) block algorithm; input with a NaN
    after the first valid bar takes TA-Lib's scan so the NaN behaviour stays identical.
    """
    n = high.shape[0]
    if n == 0:
        return
    first = begin2(high, low)
    start = first + timeperiod - 1
    fill_nan(upper, start)
    fill_nan(middle, start)
    fill_nan(lower, start)
    if start >= n:
        return
    hs = high[first:]
    ls = low[first:]
    has_nan = False
    for i in range(n - first):
        if hs[i] != hs[i] or ls[i] != ls[i]:
            has_nan = True
            break
    if has_nan:
        _donchian_scan(hs, ls, timeperiod, upper[first:], middle[first:], lower[first:])
    else:
        _donchian_blocks(hs, ls, timeperiod, upper[first:], middle[first:], lower[first:])
        # The blocks' prefix pass wrote into the warm-up bars: put the NaN back.
        fill_nan(upper, start)
        fill_nan(middle, start)
        fill_nan(lower, start)


def donchian_state(timeperiod: int = 20) -> list[float]:
    """Donchian stream: ``[period, t, max deque head/tail/size, min deque head/tail/size,
    highest bar, lowest bar, highest, lowest, deque bars (2 x (period + 1)), deque
    values (2 x (period + 1)), raw high ring (period), raw low ring (period)]``."""
    cap = timeperiod + 1
    header = [float(timeperiod), *([0.0] * 7), -1.0, -1.0, 0.0, 0.0]
    return [*header, *([0.0] * (4 * cap + 2 * timeperiod))]


_DONCHIAN_DEQUES = 12


@jit
def _donchian_push(s: FloatArray, side: int, t: int, value: float) -> None:
    """Push bar ``t`` into the max (side 0) or min (side 1) deque and drop the expired bar.

    The deque keeps equal values, so its front is the earliest bar of the extreme, as
    TA-Lib's strict-comparison rescan finds it; NaN bars are not pushed.
    """
    period = int(s[0])
    cap = period + 1
    h = 2 + 3 * side
    head = int(s[h])
    tail = int(s[h + 1])
    size = int(s[h + 2])
    bars = _DONCHIAN_DEQUES + side * cap
    values = _DONCHIAN_DEQUES + (2 + side) * cap
    if value == value:
        while size > 0:
            back = tail - 1 if tail > 0 else cap - 1
            last = s[values + back]
            if (last < value) if side == 0 else (last > value):
                tail = back
                size -= 1
            else:
                break
        s[bars + tail] = t
        s[values + tail] = value
        tail = tail + 1 if tail + 1 < cap else 0
        size += 1
    if size > 0 and s[bars + head] < t - period + 1:
        head = head + 1 if head + 1 < cap else 0
        size -= 1
    s[h] = head
    s[h + 1] = tail
    s[h + 2] = size


@jit
def _donchian_extreme(s: FloatArray, side: int, t: int, first: float, value: float) -> None:
    """TA-Lib's cached ``(bar, extreme)`` of one side, answered by the deque.

    A rescan (the cached bar left the window) that starts on a NaN bar yields NaN; any
    other rescan is the deque's front; otherwise a new bar at least as extreme wins.
    """
    period = int(s[0])
    cap = period + 1
    trailing = t - period + 1
    if s[8 + side] < trailing:
        if first == first:
            front = int(s[2 + 3 * side])
            s[8 + side] = s[_DONCHIAN_DEQUES + side * cap + front]
            s[10 + side] = s[_DONCHIAN_DEQUES + (2 + side) * cap + front]
        else:
            s[8 + side] = trailing
            s[10 + side] = first
    elif (value >= s[10]) if side == 0 else (value <= s[11]):
        s[8 + side] = t
        s[10 + side] = value


@jit
def donchian_step(st: FloatArray, at: int, high: float, low: float) -> tuple[float, float, float]:
    """One Donchian bar: the deques answer TA-Lib's rescans (amortised O(1)).

    The cached ``(bar, extreme)`` pairs follow TA-Lib's rules exactly -- a rescan that
    starts on a NaN bar yields NaN, a NaN met otherwise is skipped -- which is what keeps
    the stream equal to the batch kernel on NaN input too.
    """
    s = st[at:]
    period = int(s[0])
    raw = _DONCHIAN_DEQUES + 4 * (period + 1)
    t = int(s[1])
    s[1] = t + 1
    slot = t % period
    s[raw + slot] = high
    s[raw + period + slot] = low
    _donchian_push(s, 0, t, high)
    _donchian_push(s, 1, t, low)
    if t < period - 1:
        return NAN3
    oldest = slot + 1 if slot + 1 < period else 0
    _donchian_extreme(s, 0, t, s[raw + oldest], high)
    _donchian_extreme(s, 1, t, s[raw + period + oldest], low)
    highest = s[10]
    lowest = s[11]
    return highest, (highest + lowest) / 2.0, lowest


donchian = implement("donchian", globals())
