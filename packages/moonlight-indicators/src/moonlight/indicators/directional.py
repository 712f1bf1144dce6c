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
from a strategy's own ``@njit`` code; each stream class performs the same floating-point
operations in the same order, so stream and batch agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import prange
from numba import uint64 as U

from moonlight.indicators._define import Stream, define, float_param, int_param
from moonlight.indicators._jit import jit, parallel_jit
from moonlight.indicators._kernels import FloatArray, begin2, begin3, fill_nan
from moonlight.indicators.volatility import fma, fused

NAN = math.nan

IndexArray = npt.NDArray[np.int64]

#: TA-Lib's ``TA_EPSILON``: ``TA_IS_ZERO(v)`` is ``-1e-14 < v < 1e-14``.
EPSILON = 1e-14

_TA = "TA-Lib C ta_{}.c (library 0.8.1 bundled with the ta-lib 0.8.2 Python wrapper)"
_WILDER = "J. W. Wilder, New Concepts in Technical Trading Systems (1978)"


# ---------------------------------------------------------------------------------------------
# Directional movement: shared one-bar steps
# ---------------------------------------------------------------------------------------------


@jit
def true_range(high: float, low: float, prev_close: float) -> float:
    """TA-Lib's true range: ``high - low``, replaced by a strictly larger close gap."""
    value = high - low
    t = abs(high - prev_close)
    if t > value:
        value = t
    t = abs(low - prev_close)
    if t > value:
        value = t
    return value


def _true_range(high: float, low: float, prev_close: float) -> float:
    value = high - low
    t = abs(high - prev_close)
    if t > value:
        value = t
    t = abs(low - prev_close)
    if t > value:
        value = t
    return value


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


def _dx_py(minus_dm: float, plus_dm: float, tr: float) -> float | None:
    if tr > 0.0:
        minus_di = 100.0 * (minus_dm / tr)
        plus_di = 100.0 * (plus_dm / tr)
        total = minus_di + plus_di
        if not (-EPSILON < total < EPSILON):
            return 100.0 * (abs(minus_di - plus_di) / total)
    return None


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


@parallel_jit
def adx_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        adx_kernel(high[:, j], low[:, j], close[:, j], timeperiod, unstable, out[:, j])


class AdxStream(Stream):
    """Incremental ADX: ``update(high, low, close)`` returns the bar's ADX."""

    __slots__ = (
        "_adx",
        "_bars",
        "_minus_dm",
        "_p",
        "_plus_dm",
        "_prev_close",
        "_prev_high",
        "_prev_low",
        "_sum_dx",
        "_tr",
        "_warmup",
    )

    def __init__(self, timeperiod: int = 14, unstable: int = 0) -> None:
        self._p = timeperiod
        self._warmup = 2 * timeperiod - 1 + unstable
        self._bars = -1
        self._prev_high = 0.0
        self._prev_low = 0.0
        self._prev_close = 0.0
        self._minus_dm = 0.0
        self._plus_dm = 0.0
        self._tr = 0.0
        self._sum_dx = 0.0
        self._adx = 0.0

    def update(self, high: float, low: float, close: float) -> float:
        k = self._bars + 1
        self._bars = k
        if k == 0:
            self._prev_high = high
            self._prev_low = low
            self._prev_close = close
            return NAN
        p = self._p
        diff_p = high - self._prev_high
        self._prev_high = high
        diff_m = self._prev_low - low
        self._prev_low = low
        minus_dm = self._minus_dm
        plus_dm = self._plus_dm
        if k >= p:
            minus_dm -= minus_dm / p
            plus_dm -= plus_dm / p
        if diff_m > 0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            plus_dm += diff_p
        self._minus_dm = minus_dm
        self._plus_dm = plus_dm
        t = _true_range(high, low, self._prev_close)
        tr = self._tr
        tr = tr + t if k < p else tr - tr / p + t
        self._tr = tr
        self._prev_close = close
        if k < p:
            return NAN
        dx = _dx_py(minus_dm, plus_dm, tr)
        if k < 2 * p:
            if dx is not None:
                self._sum_dx += dx
            if k == 2 * p - 1:
                self._adx = self._sum_dx / p
        elif dx is not None:
            self._adx = (self._adx * (p - 1) + dx) / p
        if k < self._warmup:
            return NAN
        return self._adx


adx = define(
    "adx",
    group="directional",
    summary="Average Directional Movement Index",
    inputs=("high", "low", "close"),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 2),),
    lookback=lambda timeperiod, unstable: 2 * timeperiod - 1 + unstable,
    kernel=adx_kernel,
    kernel_2d=adx_kernel_2d,
    stream=AdxStream,
    source=_TA.format("ADX") + "; " + _WILDER,
    unstable=("ADX",),
)


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


@parallel_jit
def plus_di_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        plus_di_kernel(high[:, j], low[:, j], close[:, j], timeperiod, unstable, out[:, j])


@parallel_jit
def minus_di_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        minus_di_kernel(high[:, j], low[:, j], close[:, j], timeperiod, unstable, out[:, j])


class _DiStream(Stream):
    """Stream twin of ``_di_kernel``."""

    __slots__ = (
        "_bars",
        "_dm",
        "_p",
        "_plus",
        "_prev_close",
        "_prev_high",
        "_prev_low",
        "_tr",
        "_warmup",
    )

    def __init__(self, timeperiod: int, unstable: int, plus: bool) -> None:
        self._p = timeperiod
        self._plus = plus
        self._warmup = timeperiod + unstable if timeperiod > 1 else 1
        self._bars = -1
        self._prev_high = 0.0
        self._prev_low = 0.0
        self._prev_close = 0.0
        self._dm = 0.0
        self._tr = 0.0

    def update(self, high: float, low: float, close: float) -> float:
        k = self._bars + 1
        self._bars = k
        if k == 0:
            self._prev_high = high
            self._prev_low = low
            self._prev_close = close
            return NAN
        diff_p = high - self._prev_high
        self._prev_high = high
        diff_m = self._prev_low - low
        self._prev_low = low
        if self._plus:
            move = diff_p > 0 and diff_p > diff_m
            step = diff_p
        else:
            move = diff_m > 0 and diff_p < diff_m
            step = diff_m
        t = _true_range(high, low, self._prev_close)
        self._prev_close = close
        p = self._p
        if p == 1:
            return step / t if move and t > 0.0 else 0.0
        if k < p:
            if move:
                self._dm += step
            self._tr += t
            return NAN
        dm = self._dm
        dm = dm - dm / p + step if move else dm - dm / p
        tr = self._tr
        tr = tr - tr / p + t
        self._dm = dm
        self._tr = tr
        if k < self._warmup:
            return NAN
        return 100.0 * (dm / tr) if tr > 0.0 else 0.0


class PlusDiStream(_DiStream):
    """Incremental +DI: ``update(high, low, close)``."""

    __slots__ = ()

    def __init__(self, timeperiod: int = 14, unstable: int = 0) -> None:
        super().__init__(timeperiod, unstable, True)


class MinusDiStream(_DiStream):
    """Incremental -DI: ``update(high, low, close)``."""

    __slots__ = ()

    def __init__(self, timeperiod: int = 14, unstable: int = 0) -> None:
        super().__init__(timeperiod, unstable, False)


def _di_lookback(timeperiod: int, unstable: int) -> int:
    return timeperiod + unstable if timeperiod > 1 else 1


plus_di = define(
    "plus_di",
    group="directional",
    summary="Plus Directional Indicator (+DI)",
    inputs=("high", "low", "close"),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 1),),
    lookback=_di_lookback,
    kernel=plus_di_kernel,
    kernel_2d=plus_di_kernel_2d,
    stream=PlusDiStream,
    source=_TA.format("PLUS_DI") + "; " + _WILDER,
    unstable=("PLUS_DI",),
)

minus_di = define(
    "minus_di",
    group="directional",
    summary="Minus Directional Indicator (-DI)",
    inputs=("high", "low", "close"),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 1),),
    lookback=_di_lookback,
    kernel=minus_di_kernel,
    kernel_2d=minus_di_kernel_2d,
    stream=MinusDiStream,
    source=_TA.format("MINUS_DI") + "; " + _WILDER,
    unstable=("MINUS_DI",),
)


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


@parallel_jit
def aroon_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    timeperiod: int,
    aroondown: FloatArray,
    aroonup: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        aroon_kernel(high[:, j], low[:, j], timeperiod, aroondown[:, j], aroonup[:, j])


class _TrackedExtreme(Stream):
    """Stream twin of ``_track`` for one side: ring of the window plus a circular deque."""

    __slots__ = ("_head", "_high", "_idx", "_p", "_q", "_ring", "_size", "_today", "_value")

    def __init__(self, period: int, high: bool) -> None:
        self._p = period
        self._high = high
        self._ring = [0.0] * (period + 1)
        # the window holds period + 1 bars; a new bar is pushed before the oldest leaves
        self._q = [0] * (period + 2)
        self._head = 0
        self._size = 0
        self._today = -1
        self._idx = -1
        self._value = 0.0

    def update(self, v: float) -> int:
        """Add the next bar; return TA-Lib's tracked index (valid from bar ``period`` on)."""
        today = self._today + 1
        self._today = today
        span = self._p + 1
        ring = self._ring
        ring[today % span] = v
        q = self._q
        cap = span + 1
        head = self._head
        size = self._size
        high = self._high
        if v == v:
            while size > 0:
                back = head + size - 1
                if back >= cap:
                    back -= cap
                w = ring[q[back] % span]
                if (w <= v) if high else (w >= v):
                    size -= 1
                else:
                    break
            back = head + size
            if back >= cap:
                back -= cap
            q[back] = today
            size += 1
        trail = today - self._p
        if trail < 0:
            self._head = head
            self._size = size
            return -1
        while size > 0 and q[head] < trail:
            head += 1
            if head == cap:
                head = 0
            size -= 1
        self._head = head
        self._size = size
        if self._idx < trail:
            first = ring[trail % span]
            if first != first:
                self._idx = trail
                self._value = first
            else:
                self._idx = q[head]
                self._value = ring[self._idx % span]
        elif (v >= self._value) if high else (v <= self._value):
            self._idx = today
            self._value = v
        return self._idx


class AroonStream(Stream):
    """Incremental Aroon: ``update(high, low)`` returns ``(aroondown, aroonup)``."""

    __slots__ = ("_factor", "_high", "_low", "_p")

    def __init__(self, timeperiod: int = 14) -> None:
        self._p = timeperiod
        self._factor = 100.0 / timeperiod
        self._high = _TrackedExtreme(timeperiod, True)
        self._low = _TrackedExtreme(timeperiod, False)

    def update(self, high: float, low: float) -> tuple[float, float]:
        l_idx = self._low.update(low)
        h_idx = self._high.update(high)
        today = self._high._today
        if today < self._p:
            return NAN, NAN
        p = self._p
        factor = self._factor
        return factor * (p - (today - l_idx)), factor * (p - (today - h_idx))


aroon = define(
    "aroon",
    group="directional",
    summary="Aroon down and up: bars since the lowest low and highest high",
    inputs=("high", "low"),
    outputs=("aroondown", "aroonup"),
    params=(int_param("timeperiod", 14, 2),),
    lookback=lambda timeperiod: timeperiod,
    kernel=aroon_kernel,
    kernel_2d=aroon_kernel_2d,
    stream=AroonStream,
    source=_TA.format("AROON") + "; T. Chande, Stocks & Commodities (1995)",
)


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


@parallel_jit
def sar_kernel_2d(
    high: FloatArray, low: FloatArray, acceleration: float, maximum: float, out: FloatArray
) -> None:
    for j in prange(high.shape[1]):
        sar_kernel(high[:, j], low[:, j], acceleration, maximum, out[:, j])


class SarStream(Stream):
    """Incremental Parabolic SAR: ``update(high, low)`` returns the bar's SAR."""

    __slots__ = (
        "_af",
        "_bars",
        "_ep",
        "_first_high",
        "_first_low",
        "_is_long",
        "_maximum",
        "_new_high",
        "_new_low",
        "_sar",
        "_step",
    )

    def __init__(self, acceleration: float = 0.02, maximum: float = 0.2) -> None:
        self._step = acceleration if acceleration <= maximum else maximum
        self._maximum = maximum
        self._af = self._step
        self._bars = -1
        self._first_high = 0.0
        self._first_low = 0.0
        self._is_long = True
        self._ep = 0.0
        self._sar = 0.0
        self._new_high = 0.0
        self._new_low = 0.0

    def update(self, high: float, low: float) -> float:
        bars = self._bars + 1
        self._bars = bars
        if bars == 0:
            self._first_high = high
            self._first_low = low
            return NAN
        if bars == 1:
            diff_p = high - self._first_high
            diff_m = self._first_low - low
            self._is_long = not (diff_m > 0 and diff_p < diff_m)
            if self._is_long:
                self._ep = high
                self._sar = self._first_low
            else:
                self._ep = low
                self._sar = self._first_high
            self._new_high = high
            self._new_low = low
        prev_low = self._new_low
        prev_high = self._new_high
        new_low = low
        new_high = high
        self._new_low = new_low
        self._new_high = new_high
        sar = self._sar
        ep = self._ep
        af = self._af
        step = self._step
        if self._is_long:
            if new_low <= sar:
                self._is_long = False
                sar = ep
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
                result = sar
                af = step
                ep = new_low
                sar = fused(af, ep - sar, sar)
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
            else:
                result = sar
                if new_high > ep:
                    ep = new_high
                    af += step
                    if af > self._maximum:
                        af = self._maximum
                sar = fused(af, ep - sar, sar)
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
        elif new_high >= sar:
            self._is_long = True
            sar = ep
            if sar > prev_low:
                sar = prev_low
            if sar > new_low:
                sar = new_low
            result = sar
            af = step
            ep = new_high
            sar = fused(af, ep - sar, sar)
            if sar > prev_low:
                sar = prev_low
            if sar > new_low:
                sar = new_low
        else:
            result = sar
            if new_low < ep:
                ep = new_low
                af += step
                if af > self._maximum:
                    af = self._maximum
            sar = fused(af, ep - sar, sar)
            if sar < prev_high:
                sar = prev_high
            if sar < new_high:
                sar = new_high
        self._sar = sar
        self._ep = ep
        self._af = af
        return result


sar = define(
    "sar",
    group="directional",
    summary="Parabolic SAR (stop and reverse)",
    inputs=("high", "low"),
    outputs=("real",),
    params=(float_param("acceleration", 0.02, 0.0), float_param("maximum", 0.2, 0.0)),
    lookback=lambda acceleration, maximum: 1,
    kernel=sar_kernel,
    kernel_2d=sar_kernel_2d,
    stream=SarStream,
    source=_TA.format("SAR") + "; " + _WILDER,
)
