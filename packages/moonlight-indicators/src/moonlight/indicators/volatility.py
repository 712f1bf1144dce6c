"""Volatility indicators: trange, atr, natr, supertrend, kc (Keltner) and donchian.

Every kernel reproduces TA-Lib 0.8.2 (C library 0.8.1) operation for operation, so values
match bit for bit, not only within tolerance:

* leading bars where any input is NaN are skipped, as TA-Lib's Python wrapper does, and the
  warm-up counts from the first bar where every input is a number;
* the True Range starts from ``high - low`` and replaces it with ``|close[t-1] - high|`` then
  ``|close[t-1] - low|`` only on a strict ``>``, so a NaN previous close is ignored while a
  NaN high or low gives NaN, exactly as in C;
* Wilder smoothing is three separate statements (``*= period - 1``, ``+= tr``,
  ``/= period``), the seed a sum from 0.0 divided once;
* the unstable period (``unstable`` argument, TA-Lib's ``set_unstable_period``) lengthens the
  warm-up of atr, natr, supertrend and kc the way TA-Lib does.

Kernels are plain loops over 1-D float64 arrays writing into a caller-supplied ``out``; they
are importable so a strategy's own ``@njit`` code can call them.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from moonlight.indicators._jit import jit

NAN = math.nan


@intrinsic
def fma(typingctx: object, a: types.Type, b: types.Type, c: types.Type) -> tuple[object, object]:
    """``a * b + c`` with one rounding (LLVM ``llvm.fma.f64``), callable from kernels only.

    TA-Lib 0.8's C library is built with floating-point contraction, so every ``x * y + z``
    written as one C expression is a fused multiply-add there; reproducing it bit for bit
    needs the same fused operation here (fastmath stays off everywhere else).
    """
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list) -> object:
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * 3)
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f64")
        return builder.call(fn, args)

    return sig, codegen


# ---------------------------------------------------------------------------------------------
# shared helpers (also used by volume.py and candles.py)
# ---------------------------------------------------------------------------------------------


@jit
def first_valid2(a: np.ndarray, b: np.ndarray) -> int:
    """Index of the first bar where neither input is NaN (TA-Lib's ``check_begidx2``).

    When no such bar exists TA-Lib uses the last bar, and so do we: its output then comes
    from a lone (NaN) bar, which matters for the functions without warm-up.
    """
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i]:
            return i
    return n - 1


@jit
def first_valid3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> int:
    """Index of the first bar where none of the three inputs is NaN (``check_begidx3``)."""
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i] and c[i] == c[i]:
            return i
    return n - 1


@jit
def first_valid4(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> int:
    """Index of the first bar where none of the four inputs is NaN (``check_begidx4``)."""
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i] and c[i] == c[i] and d[i] == d[i]:
            return i
    return n - 1


@jit
def fill_nan(out: np.ndarray, stop: int) -> None:
    """Write NaN into ``out[:stop]`` (clipped to the array): the warm-up positions."""
    m = min(stop, out.shape[0])
    for i in range(m):
        out[i] = NAN


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


@jit
def atr_into(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    timeperiod: int,
    first_tr: int,
    start: int,
    out: np.ndarray,
) -> None:
    """Wilder ATR seeded from the True Ranges of bars ``first_tr .. first_tr+period-1``.

    Writes ``out[start:]``; the bars between the seed and ``start`` are the unstable period.
    The step is TA-Lib 0.8's two-coefficient form ``beta * prev + alpha * tr`` (fused), with
    ``beta = (period - 1) / period`` and ``alpha = 1 - beta``; at period 1 it is (0, 1), which
    still carries a NaN forward, as TA-Lib does (there is no True Range shortcut).
    """
    n = high.shape[0]
    total = 0.0
    t = first_tr
    for _ in range(timeperiod):
        total += true_range(high[t], low[t], close[t - 1])
        t += 1
    prev = total / timeperiod
    beta = (timeperiod - 1) / timeperiod
    alpha = 1.0 - beta
    while t <= start:
        prev = fma(beta, prev, alpha * true_range(high[t], low[t], close[t - 1]))
        t += 1
    out[start] = prev
    for t in range(start + 1, n):
        prev = fma(beta, prev, alpha * true_range(high[t], low[t], close[t - 1]))
        out[t] = prev


# ---------------------------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------------------------


@jit
def trange_kernel(high: np.ndarray, low: np.ndarray, close: np.ndarray, out: np.ndarray) -> None:
    """True Range: max(high - low, |prev close - high|, |prev close - low|); warm-up 1 bar."""
    n = high.shape[0]
    if n == 0:
        return
    start = first_valid3(high, low, close) + 1
    fill_nan(out, start)
    for t in range(start, n):
        out[t] = true_range(high[t], low[t], close[t - 1])


@jit
def atr_kernel(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    timeperiod: int,
    unstable: int,
    out: np.ndarray,
) -> None:
    """Average True Range with Wilder smoothing; warm-up ``timeperiod + unstable`` bars."""
    n = high.shape[0]
    if n == 0:
        return
    lookback = timeperiod + unstable
    start = first_valid3(high, low, close) + lookback
    fill_nan(out, start)
    if start >= n:
        return
    atr_into(high, low, close, timeperiod, start - lookback + 1, start, out)


@jit
def natr_kernel(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    timeperiod: int,
    unstable: int,
    out: np.ndarray,
) -> None:
    """Normalised ATR: ``ATR / close * 100`` (0.0 where close is exactly 0).

    As in TA-Lib, ``timeperiod == 1`` returns the un-normalised True Range.
    """
    n = high.shape[0]
    if n == 0:
        return
    lookback = timeperiod + unstable
    start = first_valid3(high, low, close) + lookback
    fill_nan(out, start)
    if start >= n:
        return
    atr_into(high, low, close, timeperiod, start - lookback + 1, start, out)
    if timeperiod <= 1:
        return
    for t in range(start, n):
        c = close[t]
        if c != 0.0:
            out[t] = out[t] / c * 100.0
        else:
            out[t] = 0.0


@jit
def supertrend_kernel(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    timeperiod: int,
    multiplier: float,
    unstable: int,
    out: np.ndarray,
    trend: np.ndarray,
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
    start = first_valid3(high, low, close) + lookback
    fill_nan(out, start)
    for i in range(min(start, n)):
        trend[i] = 0
    if start >= n:
        return
    # ATR seed and unstable period, exactly as atr_into.
    total = 0.0
    t = start - lookback + 1
    for _ in range(timeperiod):
        total += true_range(high[t], low[t], close[t - 1])
        t += 1
    prev_atr = total / timeperiod
    beta = (timeperiod - 1) / timeperiod
    alpha = 1.0 - beta
    while t <= start:
        prev_atr = fma(beta, prev_atr, alpha * true_range(high[t], low[t], close[t - 1]))
        t += 1
    median = (high[start] + low[start]) / 2.0
    band = multiplier * prev_atr
    final_upper = median + band
    final_lower = median - band
    up = True
    prev_close = close[start]
    out[start] = final_lower
    trend[start] = 1
    for t in range(start + 1, n):
        h = high[t]
        lo = low[t]
        prev_atr = fma(beta, prev_atr, alpha * true_range(h, lo, close[t - 1]))
        median = (h + lo) / 2.0
        band = multiplier * prev_atr
        basic_upper = median + band
        basic_lower = median - band
        if basic_upper < final_upper or prev_close > final_upper:
            final_upper = basic_upper
        if basic_lower > final_lower or prev_close < final_lower:
            final_lower = basic_lower
        c = close[t]
        if up:
            if c < final_lower:
                up = False
        elif c > final_upper:
            up = True
        if up:
            out[t] = final_lower
            trend[t] = 1
        else:
            out[t] = final_upper
            trend[t] = -1
        prev_close = c


@jit
def kc_kernel(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    timeperiod: int,
    atrperiod: int,
    nbdev: float,
    ema_unstable: int,
    atr_unstable: int,
    upper: np.ndarray,
    middle: np.ndarray,
    lower: np.ndarray,
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
    start = first_valid3(high, low, close) + lookback
    fill_nan(upper, start)
    fill_nan(middle, start)
    fill_nan(lower, start)
    if start >= n:
        return
    # ATR leg into `upper` (as scratch), then the EMA of the typical price into `middle`.
    atr_into(high, low, close, atrperiod, start - atr_lookback + 1, start, upper)
    k = 2.0 / (timeperiod + 1)
    t = start - ema_lookback
    total = 0.0
    for _ in range(timeperiod):
        total += (high[t] + low[t] + close[t]) / 3.0
        t += 1
    prev = total / timeperiod
    while t <= start:
        prev = fma((high[t] + low[t] + close[t]) / 3.0 - prev, k, prev)
        t += 1
    middle[start] = prev
    for t in range(start + 1, n):
        prev = fma((high[t] + low[t] + close[t]) / 3.0 - prev, k, prev)
        middle[t] = prev
    for t in range(start, n):
        width = upper[t] * nbdev
        mid = middle[t]
        upper[t] = mid + width
        lower[t] = mid - width


@jit
def _donchian_scan(
    high: np.ndarray,
    low: np.ndarray,
    timeperiod: int,
    start: int,
    upper: np.ndarray,
    middle: np.ndarray,
    lower: np.ndarray,
) -> None:
    """TA-Lib's own cached-extremum scan: used when the input holds NaN, to keep its NaN rules.

    TA-Lib caches the extremum and its index and rescans the window only when it drops out,
    so a NaN is ignored when it arrives but poisons the band when a rescan starts on it.
    """
    n = high.shape[0]
    trailing = start - (timeperiod - 1)
    highest_idx = -1
    highest = 0.0
    lowest_idx = -1
    lowest = 0.0
    for today in range(start, n):
        tmp = high[today]
        if highest_idx < trailing:
            highest_idx = trailing
            highest = high[highest_idx]
            for i in range(highest_idx + 1, today + 1):
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
            lowest = low[lowest_idx]
            for i in range(lowest_idx + 1, today + 1):
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
        trailing += 1


@jit
def _donchian_deque(
    high: np.ndarray,
    low: np.ndarray,
    timeperiod: int,
    first: int,
    start: int,
    upper: np.ndarray,
    middle: np.ndarray,
    lower: np.ndarray,
) -> None:
    """Monotonic-deque rolling max/min: O(n) whatever the trend (TA-Lib rescans O(period)).

    Only used on NaN-free input, where it returns the same values as the scan.
    """
    n = high.shape[0]
    cap = timeperiod + 1
    hq = np.empty(cap, dtype=np.int64)  # ring buffer of indices, values decreasing
    lq = np.empty(cap, dtype=np.int64)  # ring buffer of indices, values increasing
    h_head = 0
    h_len = 0
    l_head = 0
    l_len = 0
    for t in range(first, n):
        v = high[t]
        while h_len > 0 and high[hq[(h_head + h_len - 1) % cap]] <= v:
            h_len -= 1
        hq[(h_head + h_len) % cap] = t
        h_len += 1
        if hq[h_head] <= t - timeperiod:
            h_head = (h_head + 1) % cap
            h_len -= 1
        v = low[t]
        while l_len > 0 and low[lq[(l_head + l_len - 1) % cap]] >= v:
            l_len -= 1
        lq[(l_head + l_len) % cap] = t
        l_len += 1
        if lq[l_head] <= t - timeperiod:
            l_head = (l_head + 1) % cap
            l_len -= 1
        if t >= start:
            hi = high[hq[h_head]]
            lo = low[lq[l_head]]
            upper[t] = hi
            lower[t] = lo
            middle[t] = (hi + lo) / 2.0


@jit
def donchian_kernel(
    high: np.ndarray,
    low: np.ndarray,
    timeperiod: int,
    upper: np.ndarray,
    middle: np.ndarray,
    lower: np.ndarray,
) -> None:
    """Donchian Channels: highest high, midpoint and lowest low of the last ``timeperiod`` bars.

    NaN-free input (the usual case) takes the O(n) monotonic deque; input with a NaN after
    the first valid bar takes TA-Lib's scan so the NaN behaviour stays identical.
    """
    n = high.shape[0]
    if n == 0:
        return
    first = first_valid2(high, low)
    start = first + timeperiod - 1
    fill_nan(upper, start)
    fill_nan(middle, start)
    fill_nan(lower, start)
    if start >= n:
        return
    has_nan = False
    for t in range(first, n):
        if high[t] != high[t] or low[t] != low[t]:
            has_nan = True
            break
    if has_nan:
        _donchian_scan(high, low, timeperiod, start, upper, middle, lower)
    else:
        _donchian_deque(high, low, timeperiod, first, start, upper, middle, lower)
