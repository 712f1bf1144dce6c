"""Directional movement and trend: adx, plus_di, minus_di, aroon and sar.

Every kernel reproduces the C library bundled with ta-lib 0.8.2 (TA-Lib 0.8.1) operation
for operation, so values match TA-Lib bit for bit:

* ADX and the DIs are Wilder's: +DM/-DM and the true range summed over the first
  ``timeperiod - 1`` bars, then smoothed as ``x - x / period + today``; the first ADX is
  the mean of the first ``timeperiod`` DX, later ones ``(adx * (period - 1) + dx) /
  period``. A bar whose smoothed true range is not > 0 (0 or NaN) leaves the ADX where
  it was, as TA-Lib does; the unstable period (``set_unstable_period``) delays the first
  output exactly as in TA-Lib;
* AROON follows TA-Lib's extreme tracking (the most recent bar wins a tie; a window
  rescan that starts on a NaN bar yields that bar). TA-Lib rescans the whole window
  each time the extreme leaves it -- cheap on random walks, O(period) a bar on a steady
  trend; the kernel does the same while it is cheap and switches to an O(1)-a-bar block
  scan giving the same indices when it is not; the stream uses a monotonic deque;
* SAR takes its initial direction from +DM/-DM of the first two bars (long on a tie)
  and the first bar's extreme as the first SAR, exactly as TA-Lib; its step
  ``sar + af * (ep - sar)`` is one fused multiply-add, as the C library is compiled.

Leading bars where any input is NaN are skipped as TA-Lib's wrapper does. Kernels are
plain loops over 1-D float64 arrays writing into caller-supplied outputs, importable
from a strategy's own ``@njit`` code; each stream step performs the same floating-point
operations in the same order, so stream and batch agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import uint64 as U

from moonlight.indicators._define import implement
from moonlight.indicators._jit import jit
from moonlight.indicators._kernels import FloatArray, begin2, begin3, fill_nan, fma
from moonlight.indicators.volatility import true_range

NAN = math.nan
NAN2 = (NAN, NAN)

IndexArray = npt.NDArray[np.int64]

#: TA-Lib's ``TA_EPSILON``: ``TA_IS_ZERO(v)`` is ``-1e-14 < v < 1e-14``.
EPSILON = 1e-14


# ---------------------------------------------------------------------------------------------
# Directional movement: shared one-bar steps
# ---------------------------------------------------------------------------------------------


@jit
def _dx(minus_dm: float, plus_dm: float, tr: float) -> tuple[bool, float]:
    """``(defined, DX)`` of the smoothed sums; an undefined DX leaves the ADX unchanged."""
    if tr > 0.0:
        minus_di = 100.0 * (minus_dm / tr)
        plus_di = 100.0 * (plus_dm / tr)
        total = minus_di + plus_di
        if not (-EPSILON < total < EPSILON):
            return True, 100.0 * (abs(minus_di - plus_di) / total)
    return False, 0.0


# ---------------------------------------------------------------------------------------------
# ADX
# ---------------------------------------------------------------------------------------------


@jit
def adx_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    """Average Directional Movement Index (Wilder)."""
    n = high.shape[0]
    if n == 0:
        return
    p = timeperiod
    begin = begin3(high, low, close)
    start = begin + 2 * p - 1 + unstable
    fill_nan(out, start)
    if start >= n:
        return
    today = begin
    prev_high = high[U(today)]
    prev_low = low[U(today)]
    prev_close = close[U(today)]
    minus_dm = 0.0
    plus_dm = 0.0
    tr = 0.0
    sum_dx = 0.0
    adx = 0.0
    # bar numbers after ``begin``: 1..p-1 seed the sums, p..2p-1 sum the DX,
    # later bars smooth the ADX (unstable ones hidden).
    for k in range(1, n - begin):
        today = begin + k
        h = high[U(today)]
        diff_p = h - prev_high
        prev_high = h
        lo = low[U(today)]
        diff_m = prev_low - lo
        prev_low = lo
        if k >= p:
            minus_dm -= minus_dm / p
            plus_dm -= plus_dm / p
        if diff_m > 0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            plus_dm += diff_p
        t = true_range(prev_high, prev_low, prev_close)
        if k < p:
            tr += t
        else:
            tr = tr - tr / p + t
        prev_close = close[U(today)]
        if k < p:
            continue
        defined, dx = _dx(minus_dm, plus_dm, tr)
        if k < 2 * p:
            if defined:
                sum_dx += dx
            if k == 2 * p - 1:
                adx = sum_dx / p
        elif defined:
            adx = (adx * (p - 1) + dx) / p
        if today >= start:
            out[U(today)] = adx


def adx_state(timeperiod: int = 14, unstable: int = 0) -> list[float]:
    """ADX stream: ``[period, warmup, bars, prev_high, prev_low, prev_close, minus_dm,
    plus_dm, tr, sum_dx, adx]``."""
    return [float(timeperiod), float(2 * timeperiod - 1 + unstable), -1.0, *([0.0] * 8)]


@jit
def _directional_bar(
    s: FloatArray, high: float, low: float, close: float
) -> tuple[float, float, float, float]:
    """Count the bar and move the previous bar on, for the ADX/DI steps' shared header
    ``[period, warmup, bars, prev_high, prev_low, prev_close]``.

    Returns ``(k, +DM1 difference, -DM1 difference, true range)``; ``k`` is the bar's
    number from 0 (saturating after the warm-up), and bar 0 only stores its prices.
    """
    k = s[2] + 1.0
    if k <= s[1]:
        s[2] = k
    if k == 0.0:
        s[3] = high
        s[4] = low
        s[5] = close
        return k, 0.0, 0.0, 0.0
    diff_p = high - s[3]
    s[3] = high
    diff_m = s[4] - low
    s[4] = low
    t = true_range(high, low, s[5])
    s[5] = close
    return k, diff_p, diff_m, t


@jit
def adx_step(st: FloatArray, at: int, high: float, low: float, close: float) -> float:
    """One ADX bar: Wilder's +DM/-DM/TR sums, DX, then the smoothed ADX."""
    s = st[at:]
    k, diff_p, diff_m, t = _directional_bar(s, high, low, close)
    if k == 0.0:
        return NAN
    p = int(s[0])
    minus_dm = s[6]
    plus_dm = s[7]
    if k >= p:
        minus_dm -= minus_dm / p
        plus_dm -= plus_dm / p
    if diff_m > 0 and diff_p < diff_m:
        minus_dm += diff_m
    elif diff_p > 0 and diff_p > diff_m:
        plus_dm += diff_p
    s[6] = minus_dm
    s[7] = plus_dm
    tr = s[8]
    tr = tr + t if k < p else tr - tr / p + t
    s[8] = tr
    if k < p:
        return NAN
    defined, dx = _dx(minus_dm, plus_dm, tr)
    if k < 2 * p:
        if defined:
            s[9] += dx
        if k == 2 * p - 1:
            s[10] = s[9] / p
    elif defined:
        s[10] = (s[10] * (p - 1) + dx) / p
    if k < s[1]:
        return NAN
    return s[10]  # type: ignore[no-any-return]


adx = implement("adx", globals())


# ---------------------------------------------------------------------------------------------
# PLUS_DI and MINUS_DI
# ---------------------------------------------------------------------------------------------


@jit
def _di_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    plus: bool,
    out: FloatArray,
) -> None:
    """+DI (``plus``) or -DI: 100 * smoothed DM / smoothed true range."""
    n = high.shape[0]
    if n == 0:
        return
    p = timeperiod
    begin = begin3(high, low, close)
    start = begin + (p + unstable if p > 1 else 1)
    fill_nan(out, start)
    if start >= n:
        return
    prev_high = high[U(begin)]
    prev_low = low[U(begin)]
    prev_close = close[U(begin)]
    dm = 0.0
    tr = 0.0
    for k in range(1, n - begin):
        today = begin + k
        h = high[U(today)]
        diff_p = h - prev_high
        prev_high = h
        lo = low[U(today)]
        diff_m = prev_low - lo
        prev_low = lo
        if plus:
            move = diff_p > 0 and diff_p > diff_m
            step = diff_p
        else:
            move = diff_m > 0 and diff_p < diff_m
            step = diff_m
        t = true_range(prev_high, prev_low, prev_close)
        prev_close = close[U(today)]
        if p == 1:
            if move and tr_nonzero(t):
                out[U(today)] = step / t
            else:
                out[U(today)] = 0.0
            continue
        if k < p:
            if move:
                dm += step
            tr += t
            continue
        dm = dm - dm / p + step if move else dm - dm / p
        tr = tr - tr / p + t
        if today >= start:
            out[U(today)] = 100.0 * (dm / tr) if tr_nonzero(tr) else 0.0


@jit
def tr_nonzero(tr: float) -> bool:
    """TA-Lib 0.8.1's guard before dividing by a true range: strictly positive."""
    return tr > 0.0


@jit
def plus_di_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    """Plus Directional Indicator (+DI); period 1 gives the raw +DM1/TR1 (not x100)."""
    _di_kernel(high, low, close, timeperiod, unstable, True, out)


@jit
def minus_di_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    """Minus Directional Indicator (-DI); period 1 gives the raw -DM1/TR1 (not x100)."""
    _di_kernel(high, low, close, timeperiod, unstable, False, out)


def _di_state(timeperiod: int, unstable: int, plus: bool) -> list[float]:
    """+DI/-DI stream: ``[period, warmup, bars, prev_high, prev_low, prev_close, plus,
    dm, tr]``."""
    warmup = timeperiod + unstable if timeperiod > 1 else 1
    return [float(timeperiod), float(warmup), -1.0, 0.0, 0.0, 0.0, float(plus), 0.0, 0.0]


def plus_di_state(timeperiod: int = 14, unstable: int = 0) -> list[float]:
    return _di_state(timeperiod, unstable, True)


def minus_di_state(timeperiod: int = 14, unstable: int = 0) -> list[float]:
    return _di_state(timeperiod, unstable, False)


@jit
def di_step(st: FloatArray, at: int, high: float, low: float, close: float) -> float:
    """One +DI (or -DI) bar: the stream twin of ``_di_kernel``."""
    s = st[at:]
    k, diff_p, diff_m, t = _directional_bar(s, high, low, close)
    if k == 0.0:
        return NAN
    if s[6] != 0.0:
        move = diff_p > 0 and diff_p > diff_m
        change = diff_p
    else:
        move = diff_m > 0 and diff_p < diff_m
        change = diff_m
    p = int(s[0])
    if p == 1:
        return change / t if move and tr_nonzero(t) else 0.0
    if k < p:
        if move:
            s[7] += change
        s[8] += t
        return NAN
    dm = s[7]
    dm = dm - dm / p + change if move else dm - dm / p
    tr = s[8]
    tr = tr - tr / p + t
    s[7] = dm
    s[8] = tr
    if k < s[1]:
        return NAN
    return 100.0 * (dm / tr) if tr_nonzero(tr) else 0.0


plus_di = implement("plus_di", globals(), step=di_step)

minus_di = implement("minus_di", globals(), step=di_step)


# ---------------------------------------------------------------------------------------------
# AROON
# ---------------------------------------------------------------------------------------------


@jit
def _aroon_blocks(
    x: FloatArray, high: bool, p: int, block: int, prev: int, out: FloatArray, suf: IndexArray
) -> None:
    """TA-Lib's tracked extreme index (as float) for bars ``block + p ..`` by block scan.

    van Herk/Gil-Werman over blocks of ``p + 1`` bars starting at ``block``: the latest
    extreme of the window's non-NaN bars is the later of the older block's suffix
    extreme and the newer block's prefix extreme; TA-Lib's one exception -- a rescan
    (the previous index ``prev`` left the window) that starts on a NaN bar yields that
    bar -- is applied on top. O(1) a bar whatever the prices.
    """
    n = x.shape[0]
    w = p + 1
    t = block + p
    while t < n:
        bi = -1
        best = 0.0
        for i in range(block + p, block - 1, -1):
            v = x[U(i)]
            if v == v and (bi < 0 or ((v > best) if high else (v < best))):
                best = v
                bi = i
            suf[U(i - block)] = bi
        idx = bi
        trail = t - p
        if prev < trail and x[U(trail)] != x[U(trail)]:
            idx = trail
        out[U(t)] = idx
        prev = idx
        t += 1
        nxt = block + w
        avail = min(n - nxt, p)
        pbi = -1
        pbest = 0.0
        for m in range(1, avail + 1):
            bar = nxt + m - 1
            v = x[U(bar)]
            if v == v and (pbi < 0 or ((v >= pbest) if high else (v <= pbest))):
                pbest = v
                pbi = bar
            idx = suf[U(m)]
            if pbi >= 0 and (idx < 0 or ((pbest >= x[U(idx)]) if high else (pbest <= x[U(idx)]))):
                idx = pbi
            trail = bar - p
            if prev < trail and x[U(trail)] != x[U(trail)]:
                idx = trail
            out[U(bar)] = idx
            prev = idx
        t += avail
        block = nxt


@jit
def _aroon_side(
    x: FloatArray, high: bool, begin: int, p: int, out: FloatArray, suf: IndexArray
) -> None:
    """TA-Lib's tracked extreme index (as float) of every bar from ``begin + p`` on.

    Runs TA-Lib's own algorithm (keep the extreme, rescan the window when it leaves;
    the latest bar wins ties) while that is cheap -- random-walk prices rescan rarely --
    and hands over to :func:`_aroon_blocks` for the rest of the series once the rescans
    have cost more than ~4 bar visits a bar (trends, long periods), where TA-Lib's cost
    grows to O(period) a bar. Both give TA-Lib's indices, so the switch is invisible.
    """
    n = x.shape[0]
    start = begin + p
    idx = -1
    value = 0.0
    work = 0
    for t in range(start, n):
        trail = t - p
        v = x[U(t)]
        if idx < trail:
            idx = trail
            value = x[U(trail)]
            for i in range(trail + 1, t + 1):
                c = x[U(i)]
                if (c >= value) if high else (c <= value):
                    idx = i
                    value = c
            out[U(t)] = idx
            work += p
            if work > 4 * (t - start) + 2 * p:
                _aroon_blocks(x, high, p, t + 1 - p, idx, out, suf)
                return
            continue
        if (v >= value) if high else (v <= value):
            idx = t
            value = v
        out[U(t)] = idx


@jit
def aroon_kernel(
    high: FloatArray,
    low: FloatArray,
    timeperiod: int,
    aroondown: FloatArray,
    aroonup: FloatArray,
) -> None:
    """Aroon down/up: 100 * (period - bars since the lowest low / highest high) / period.

    Each side's tracked index is written into its output, then turned into the Aroon
    value in place.
    """
    n = high.shape[0]
    if n == 0:
        return
    p = timeperiod
    begin = begin2(high, low)
    start = begin + p
    fill_nan(aroondown, start)
    fill_nan(aroonup, start)
    if start >= n:
        return
    suf = np.empty(p + 1, dtype=np.int64)
    _aroon_side(high, True, begin, p, aroonup, suf)
    _aroon_side(low, False, begin, p, aroondown, suf)
    factor = 100.0 / p
    for t in range(start, n):
        aroonup[U(t)] = factor * (p - (t - int(aroonup[U(t)])))
        aroondown[U(t)] = factor * (p - (t - int(aroondown[U(t)])))


def _tracker_state(period: int, high: bool) -> list[float]:
    """One side of AROON's stream (twin of ``_aroon_side``): ``[high, today, head, size,
    idx, value, ring(period + 1), deque(period + 2)]`` -- a ring of the window and a
    circular deque of bar numbers."""
    return [float(high), -1.0, 0.0, 0.0, -1.0, 0.0, *([0.0] * (2 * period + 3))]


def aroon_state(timeperiod: int = 14) -> list[float]:
    """AROON stream: ``[period, factor, high side, low side]``."""
    header = [float(timeperiod), 100.0 / timeperiod]
    return [*header, *_tracker_state(timeperiod, True), *_tracker_state(timeperiod, False)]


_AROON_SIDE = 6


@jit
def _tracked_extreme(s: FloatArray, p: int, v: float) -> float:
    """Add the next bar to one side; return TA-Lib's tracked index (from bar ``p`` on).

    The deque keeps the bars that can still become the extreme (NaN bars never enter);
    TA-Lib's rescan when the extreme leaves the window -- including its quirk, a rescan
    that starts on a NaN bar yields that bar -- becomes a look at the deque's front.
    """
    high = s[0] != 0.0
    today = int(s[1]) + 1
    s[1] = today
    span = p + 1
    ring = _AROON_SIDE
    deque = _AROON_SIDE + span
    s[ring + today % span] = v
    cap = span + 1
    head = int(s[2])
    size = int(s[3])
    if v == v:
        while size > 0:
            back = head + size - 1
            if back >= cap:
                back -= cap
            w = s[ring + int(s[deque + back]) % span]
            if (w <= v) if high else (w >= v):
                size -= 1
            else:
                break
        back = head + size
        if back >= cap:
            back -= cap
        s[deque + back] = today
        size += 1
    trail = today - p
    if trail < 0:
        s[2] = head
        s[3] = size
        return -1.0
    while size > 0 and s[deque + head] < trail:
        head += 1
        if head == cap:
            head = 0
        size -= 1
    s[2] = head
    s[3] = size
    if s[4] < trail:
        first = s[ring + trail % span]
        if first != first:
            s[4] = trail
            s[5] = first
        else:
            s[4] = s[deque + head]
            s[5] = s[ring + int(s[4]) % span]
    elif (v >= s[5]) if high else (v <= s[5]):
        s[4] = today
        s[5] = v
    return s[4]  # type: ignore[no-any-return]


@jit
def aroon_step(st: FloatArray, at: int, high: float, low: float) -> tuple[float, float]:
    """One Aroon bar: ``(aroondown, aroonup)`` from each side's tracked extreme."""
    s = st[at:]
    p = int(s[0])
    high_side = 2
    low_side = 2 + _AROON_SIDE + 2 * p + 3
    low_idx = _tracked_extreme(s[low_side:], p, low)
    high_idx = _tracked_extreme(s[high_side:], p, high)
    today = s[high_side + 1]
    if today < p:
        return NAN2
    factor = s[1]
    return factor * (p - (today - low_idx)), factor * (p - (today - high_idx))


aroon = implement("aroon", globals())


# ---------------------------------------------------------------------------------------------
# SAR
# ---------------------------------------------------------------------------------------------


@jit
def sar_kernel(
    high: FloatArray, low: FloatArray, acceleration: float, maximum: float, out: FloatArray
) -> None:
    """Parabolic SAR (Wilder) with TA-Lib's start: direction from the first two bars' DM."""
    n = high.shape[0]
    if n == 0:
        return
    begin = begin2(high, low)
    start = begin + 1
    fill_nan(out, start)
    if start >= n:
        return
    step = acceleration
    if step > maximum:
        step = maximum
    af = step
    diff_p = high[U(start)] - high[U(begin)]
    diff_m = low[U(begin)] - low[U(start)]
    is_long = not (diff_m > 0 and diff_p < diff_m)
    if is_long:
        ep = high[U(start)]
        sar = low[U(begin)]
    else:
        ep = low[U(start)]
        sar = high[U(begin)]
    new_low = low[U(start)]
    new_high = high[U(start)]
    for today in range(start, n):
        prev_low = new_low
        prev_high = new_high
        new_low = low[U(today)]
        new_high = high[U(today)]
        if is_long:
            if new_low <= sar:
                is_long = False
                sar = ep
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
                out[U(today)] = sar
                af = step
                ep = new_low
                sar = fma(af, ep - sar, sar)
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
            else:
                out[U(today)] = sar
                if new_high > ep:
                    ep = new_high
                    af += step
                    if af > maximum:
                        af = maximum
                sar = fma(af, ep - sar, sar)
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
        elif new_high >= sar:
            is_long = True
            sar = ep
            if sar > prev_low:
                sar = prev_low
            if sar > new_low:
                sar = new_low
            out[U(today)] = sar
            af = step
            ep = new_high
            sar = fma(af, ep - sar, sar)
            if sar > prev_low:
                sar = prev_low
            if sar > new_low:
                sar = new_low
        else:
            out[U(today)] = sar
            if new_low < ep:
                ep = new_low
                af += step
                if af > maximum:
                    af = maximum
            sar = fma(af, ep - sar, sar)
            if sar < prev_high:
                sar = prev_high
            if sar < new_high:
                sar = new_high


def sar_state(acceleration: float = 0.02, maximum: float = 0.2) -> list[float]:
    """SAR stream: ``[step, maximum, af, bars, first_high, first_low, long, ep, sar,
    new_high, new_low]``."""
    step = acceleration if acceleration <= maximum else maximum
    return [step, maximum, step, -1.0, *([0.0] * 7)]


@jit
def sar_step(st: FloatArray, at: int, high: float, low: float) -> float:
    """One Parabolic SAR bar: the stream twin of :func:`sar_kernel`."""
    s = st[at:]
    bars = s[3] + 1.0
    if bars <= 1.0:
        s[3] = bars
    if bars == 0.0:
        s[4] = high
        s[5] = low
        return NAN
    if bars == 1.0:
        diff_p = high - s[4]
        diff_m = s[5] - low
        is_long = not (diff_m > 0 and diff_p < diff_m)
        s[6] = 1.0 if is_long else 0.0
        s[7] = high if is_long else low
        s[8] = s[5] if is_long else s[4]
        s[9] = high
        s[10] = low
    prev_low = s[10]
    prev_high = s[9]
    new_low = low
    new_high = high
    s[10] = new_low
    s[9] = new_high
    sar = s[8]
    ep = s[7]
    af = s[2]
    step = s[0]
    maximum = s[1]
    if s[6] != 0.0:
        if new_low <= sar:
            s[6] = 0.0
            sar = ep
            if sar < prev_high:
                sar = prev_high
            if sar < new_high:
                sar = new_high
            result = sar
            af = step
            ep = new_low
            sar = fma(af, ep - sar, sar)
            if sar < prev_high:
                sar = prev_high
            if sar < new_high:
                sar = new_high
        else:
            result = sar
            if new_high > ep:
                ep = new_high
                af += step
                if af > maximum:
                    af = maximum
            sar = fma(af, ep - sar, sar)
            if sar > prev_low:
                sar = prev_low
            if sar > new_low:
                sar = new_low
    elif new_high >= sar:
        s[6] = 1.0
        sar = ep
        if sar > prev_low:
            sar = prev_low
        if sar > new_low:
            sar = new_low
        result = sar
        af = step
        ep = new_high
        sar = fma(af, ep - sar, sar)
        if sar > prev_low:
            sar = prev_low
        if sar > new_low:
            sar = new_low
    else:
        result = sar
        if new_low < ep:
            ep = new_low
            af += step
            if af > maximum:
                af = maximum
        sar = fma(af, ep - sar, sar)
        if sar < prev_high:
            sar = prev_high
        if sar < new_high:
            sar = new_high
    s[8] = sar
    s[7] = ep
    s[2] = af
    return result  # type: ignore[no-any-return]


sar = implement("sar", globals())
