"""TA-Lib's moving averages as C-style Numba cores, plus the ``MA_Type`` dispatcher.

Every ``*_core(x, start, end, period, out)`` is a port of TA-Lib's ``TA_<MA>_Unguarded``
(ta-lib C sources, ``src/ta_func/ta_<MA>.c``): it computes outputs for bars
``max(start, lookback) .. end`` of ``x`` into ``out[0:count]`` and returns
``(first_bar, count)`` exactly like TA-Lib's ``outBegIdx``/``outNBElement``. Composite
indicators (bbands, stoch, macd, kc...) call :func:`ma_core` with the ``matype`` codes
0..8 of TA-Lib (see :data:`MA_NAMES`) the way TA-Lib calls ``TA_MA``.

The stream classes next to each core do the same floating-point operations in the same
order, so a stream and a batch call give bit-identical values; :func:`ma_stream` builds
the stream for an ``matype``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.indicators._define import Stream, compiled
from moonlight.indicators._jit import jit
from moonlight.indicators._kernels import fma, fma_py

FloatArray = npt.NDArray[np.float64]

NAN = float("nan")

#: TA-Lib's ``TA_MAType`` codes.
MA_NAMES: dict[int, str] = {
    0: "SMA",
    1: "EMA",
    2: "WMA",
    3: "DEMA",
    4: "TEMA",
    5: "TRIMA",
    6: "KAMA",
    7: "MAMA",
    8: "T3",
}
MA_MAMA = 7

#: TA-Lib KAMA constants: fastest (2-bar) and slowest (30-bar) EMA factors.
KAMA_MAX = 2.0 / (30.0 + 1.0)
KAMA_DIFF = 2.0 / (2.0 + 1.0) - KAMA_MAX
#: TA-Lib's WMA rebuilds its running totals every ``WMA_RESEED * period`` outputs.
WMA_RESEED = 8
#: KAMA rebuilds its sum of 1-bar changes from the window when the change leaving it
#: outweighs the rest this many times (so a flat window sums to exactly 0, as TA-Lib's).
KAMA_REBUILD = 100.0
#: TA_IS_ZERO's band in the bundled TA-Lib C library (ta_utility.h ``TA_EPSILON``).
KAMA_EPSILON = 1e-14


def check_matype(name: str, matype: int) -> None:
    """Refuse MAMA (code 7): MoonLight does not implement the MESA adaptive average."""
    if matype == MA_MAMA:
        raise ValueError(f"{name}=7 (MAMA) is not supported by moonlight.indicators; use 0..6 or 8")


def _py(function: Any) -> Any:
    """The Python body of a ``@jit`` function (itself under ``NUMBA_DISABLE_JIT=1``),
    so metadata and stream warm-ups never trigger a compilation."""
    return getattr(function, "py_func", function)


# ---------------------------------------------------------------------------------------
# Lookbacks (TA_<MA>_Lookback, TA_MA_Lookback)
# ---------------------------------------------------------------------------------------


@jit
def ma_lookback(
    period: int, matype: int, ema_unstable: int, kama_unstable: int, t3_unstable: int
) -> int:
    """``TA_MA_Lookback``: leading bars an MA of this type and period consumes."""
    if period <= 1:
        return 0
    if matype == 1:
        return period - 1 + ema_unstable
    if matype == 3:
        return 2 * (period - 1 + ema_unstable)
    if matype == 4:
        return 3 * (period - 1 + ema_unstable)
    if matype == 6:
        return period + kama_unstable
    if matype == 8:
        return 6 * (period - 1) + t3_unstable
    return period - 1  # SMA, WMA, TRIMA


def ma_lookback_py(
    period: int, matype: int, ema_unstable: int = 0, kama_unstable: int = 0, t3_unstable: int = 0
) -> int:
    """:func:`ma_lookback` for Python callers (metadata), without compiling it."""
    result: int = _py(ma_lookback)(period, matype, ema_unstable, kama_unstable, t3_unstable)
    return result


def sma_lookback(timeperiod: int) -> int:
    return timeperiod - 1


def ema_lookback(timeperiod: int, unstable: int = 0) -> int:
    return timeperiod - 1 + unstable


def kama_lookback(timeperiod: int, unstable: int = 0) -> int:
    return unstable if timeperiod == 1 else timeperiod + unstable


# ---------------------------------------------------------------------------------------
# Cores: ports of TA_<MA>_Unguarded. Return (outBegIdx, outNBElement).
# ---------------------------------------------------------------------------------------


@jit
def copy_core(x: FloatArray, start: int, end: int, out: FloatArray) -> tuple[int, int]:
    """Period 1: TA_MA copies the input."""
    k = 0
    for i in range(start, end + 1):
        out[k] = x[i]
        k += 1
    return start, k


@jit
def sma_core(x: FloatArray, start: int, end: int, period: int, out: FloatArray) -> tuple[int, int]:
    """``TA_INT_SMA``: running sum, the trailing value removed after each output."""
    lookback = period - 1
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
    total = 0.0
    trailing = start - lookback
    i = trailing
    while i < start:
        total += x[i]
        i += 1
    k = 0
    while i <= end:
        total += x[i]
        i += 1
        value = total
        total -= x[trailing]
        trailing += 1
        out[k] = value / period
        k += 1
    return start, k


@jit
def ema_core(
    x: FloatArray, start: int, end: int, period: int, k: float, unstable: int, out: FloatArray
) -> tuple[int, int]:
    """``TA_INT_EMA``: seeded with the SMA of the first ``period`` bars.

    ``unstable`` is TA-Lib's EMA unstable period: the seed stays where it is and the
    first ``unstable`` values are computed but not written.
    """
    lookback = period - 1 + unstable
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
    if period == 1:
        return copy_core(x, start, end, out)
    today = start - lookback
    total = 0.0
    for _ in range(period):
        total += x[today]
        today += 1
    prev = total / period
    while today <= start:
        prev = (x[today] - prev) * k + prev
        today += 1
    out[0] = prev
    m = 1
    while today <= end:
        prev = (x[today] - prev) * k + prev
        today += 1
        out[m] = prev
        m += 1
    return start, m


@jit
def wma_core(x: FloatArray, start: int, end: int, period: int, out: FloatArray) -> tuple[int, int]:
    """``TA_WMA``: weights 1..period kept as a running sum and a running sub-sum."""
    lookback = period - 1
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
    if period == 1:
        return copy_core(x, start, end, out)
    divider = (period * (period + 1)) >> 1
    trailing = start - lookback
    period_sub = 0.0
    period_sum = 0.0
    i = trailing
    weight = 1
    while i < start:
        value = x[i]
        i += 1
        period_sub += value
        period_sum += value * weight
        weight += 1
    trailing_value = 0.0
    bars_to_reseed = WMA_RESEED * period
    k = 0
    while i <= end:
        value = x[i]
        period_sub += value
        period_sub -= trailing_value
        period_sum += value * period
        bars_to_reseed -= 1
        if bars_to_reseed <= 0:
            # TA-Lib rebuilds both totals from the window (oldest first) periodically.
            bars_to_reseed = WMA_RESEED * period
            period_sub = 0.0
            period_sum = 0.0
            weight = 1
            for j in range(i - period + 1, i + 1):
                value = x[j]
                period_sub += value
                period_sum += value * weight
                weight += 1
        i += 1
        trailing_value = x[trailing]
        trailing += 1
        out[k] = period_sum / divider
        k += 1
        period_sum -= period_sub
    return start, k


@jit
def dema_core(
    x: FloatArray, start: int, end: int, period: int, unstable: int, out: FloatArray
) -> tuple[int, int]:
    """``TA_DEMA``: 2*EMA1 - EMA2, both EMAs advanced in lockstep."""
    lookback_ema = period - 1 + unstable
    lookback = 2 * lookback_ema
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
    if period == 1:
        return copy_core(x, start, end, out)
    k = 2.0 / (period + 1)
    today = start - lookback
    total = 0.0
    for _ in range(period):
        total += x[today]
        today += 1
    e1 = total / period
    while today <= start - lookback_ema:
        e1 = (x[today] - e1) * k + e1
        today += 1
    total = 0.0
    total += e1
    for _ in range(period - 1):
        e1 = (x[today] - e1) * k + e1
        today += 1
        total += e1
    e2 = total / period
    while today <= start:
        e1 = (x[today] - e1) * k + e1
        today += 1
        e2 = (e1 - e2) * k + e2
    out[0] = 2.0 * e1 - e2
    m = 1
    while today <= end:
        e1 = (x[today] - e1) * k + e1
        today += 1
        e2 = (e1 - e2) * k + e2
        out[m] = 2.0 * e1 - e2
        m += 1
    return start, m


@jit
def tema_core(
    x: FloatArray, start: int, end: int, period: int, unstable: int, out: FloatArray
) -> tuple[int, int]:
    """``TA_TEMA``: EMA3 + (3*EMA1 - 3*EMA2), three EMAs in lockstep."""
    lookback_ema = period - 1 + unstable
    lookback = 3 * lookback_ema
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
    if period == 1:
        return copy_core(x, start, end, out)
    k = 2.0 / (period + 1)
    today = start - lookback
    total = 0.0
    for _ in range(period):
        total += x[today]
        today += 1
    e1 = total / period
    while today <= start - 2 * lookback_ema:
        e1 = (x[today] - e1) * k + e1
        today += 1
    total = 0.0
    total += e1
    for _ in range(period - 1):
        e1 = (x[today] - e1) * k + e1
        today += 1
        total += e1
    e2 = total / period
    while today <= start - lookback_ema:
        e1 = (x[today] - e1) * k + e1
        today += 1
        e2 = (e1 - e2) * k + e2
    total = 0.0
    total += e2
    for _ in range(period - 1):
        e1 = (x[today] - e1) * k + e1
        today += 1
        e2 = (e1 - e2) * k + e2
        total += e2
    e3 = total / period
    while today <= start:
        e1 = (x[today] - e1) * k + e1
        today += 1
        e2 = (e1 - e2) * k + e2
        e3 = (e2 - e3) * k + e3
    out[0] = e3 + (3.0 * e1 - 3.0 * e2)
    m = 1
    while today <= end:
        e1 = (x[today] - e1) * k + e1
        today += 1
        e2 = (e1 - e2) * k + e2
        e3 = (e2 - e3) * k + e3
        out[m] = e3 + (3.0 * e1 - 3.0 * e2)
        m += 1
    return start, m


@jit
def trima_core(
    x: FloatArray, start: int, end: int, period: int, out: FloatArray
) -> tuple[int, int]:
    """``TA_TRIMA``: triangular weights kept as a numerator and two running sub-sums."""
    lookback = period - 1
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
    half = period >> 1
    odd = period % 2 == 1
    if odd:
        factor = 1.0 / ((half + 1) * (half + 1))
        trailing = start - lookback
        middle = trailing + half
    else:
        factor = 1.0 / (half * (half + 1))
        trailing = start - lookback
        middle = trailing + half - 1
    today = middle + half
    numerator = 0.0
    numerator_sub = 0.0
    i = middle
    while i >= trailing:
        numerator_sub += x[i]
        numerator += numerator_sub
        i -= 1
    numerator_add = 0.0
    middle += 1
    i = middle
    while i <= today:
        numerator_add += x[i]
        numerator += numerator_add
        i += 1
    value = x[trailing]
    trailing += 1
    out[0] = numerator * factor
    m = 1
    today += 1
    while today <= end:
        numerator -= numerator_sub
        numerator_sub -= value
        value = x[middle]
        middle += 1
        numerator_sub += value
        if odd:
            numerator += numerator_add
            numerator_add -= value
        else:
            numerator_add -= value
            numerator += numerator_add
        value = x[today]
        today += 1
        numerator_add += value
        numerator += value
        value = x[trailing]
        trailing += 1
        out[m] = numerator * factor
        m += 1
    return start, m


@jit
def _kama_factor(sum_roc1: float, period_roc: float) -> float:
    """KAMA smoothing constant squared, from TA-Lib's efficiency ratio."""
    if sum_roc1 <= period_roc or (-KAMA_EPSILON < sum_roc1 < KAMA_EPSILON):
        ratio = 1.0
    else:
        ratio = abs(period_roc / sum_roc1)
    sc = fma(ratio, KAMA_DIFF, KAMA_MAX)
    return sc * sc


@jit
def _kama_window_sum(x: FloatArray, today: int, period: int) -> float:
    """sum(|x[j] - x[j-1]|) over the window ending at ``today``, oldest first."""
    total = 0.0
    for j in range(today - period + 1, today + 1):
        total += abs(x[j] - x[j - 1])
    return total


def _kama_factor_py(sum_roc1: float, period_roc: float) -> float:
    """:func:`_kama_factor` in Python with an exact fused multiply-add (stream warm-up)."""
    if sum_roc1 <= period_roc or (-KAMA_EPSILON < sum_roc1 < KAMA_EPSILON):
        ratio = 1.0
    else:
        ratio = abs(period_roc / sum_roc1)
    sc = fma_py(ratio, KAMA_DIFF, KAMA_MAX)
    return sc * sc


@jit
def kama_core(
    x: FloatArray, start: int, end: int, period: int, unstable: int, out: FloatArray
) -> tuple[int, int]:
    """``TA_KAMA``: Kaufman's adaptive MA, efficiency ratio over ``period`` bars."""
    if period == 1:
        if start < unstable:
            start = unstable
        if start > end:
            return 0, 0
        return copy_core(x, start, end, out)
    lookback = period + unstable
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
    sum_roc1 = 0.0
    today = start - lookback
    trailing = today
    for _ in range(period):
        value = x[today]
        today += 1
        value -= x[today]
        sum_roc1 += abs(value)
    prev = x[today - 1]
    value = x[today]
    value2 = x[trailing]
    trailing += 1
    period_roc = value - value2
    trailing_value = value2
    sc = _kama_factor(sum_roc1, period_roc)
    prev = fma(x[today] - prev, sc, prev)
    today += 1
    while today <= start:
        value = x[today]
        value2 = x[trailing]
        trailing += 1
        period_roc = value - value2
        departing = abs(trailing_value - value2)
        sum_roc1 -= departing
        sum_roc1 += abs(value - x[today - 1])
        if departing > KAMA_REBUILD * sum_roc1:
            sum_roc1 = _kama_window_sum(x, today, period)
        trailing_value = value2
        sc = _kama_factor(sum_roc1, period_roc)
        prev = fma(x[today] - prev, sc, prev)
        today += 1
    out[0] = prev
    m = 1
    first = today - 1
    while today <= end:
        value = x[today]
        value2 = x[trailing]
        trailing += 1
        period_roc = value - value2
        departing = abs(trailing_value - value2)
        sum_roc1 -= departing
        sum_roc1 += abs(value - x[today - 1])
        if departing > KAMA_REBUILD * sum_roc1:
            sum_roc1 = _kama_window_sum(x, today, period)
        trailing_value = value2
        sc = _kama_factor(sum_roc1, period_roc)
        prev = fma(x[today] - prev, sc, prev)
        today += 1
        out[m] = prev
        m += 1
    return first, m


@jit
def t3_coefficients(vfactor: float) -> tuple[float, float, float, float]:
    """Tillson's c1..c4 exactly as TA-Lib computes them."""
    square = vfactor * vfactor
    c1 = 0.0 - square * vfactor
    c2 = 3.0 * (square - c1)
    c3 = (0.0 - 6.0) * square - 3.0 * (vfactor - c1)
    c4 = 1.0 + 3.0 * vfactor - c1 + 3.0 * square
    return c1, c2, c3, c4


@jit
def t3_core(
    x: FloatArray, start: int, end: int, period: int, vfactor: float, unstable: int, out: FloatArray
) -> tuple[int, int]:
    """``TA_T3``: six cascaded EMAs (k*x + (1-k)*e form) combined with c1..c4."""
    lookback = 6 * (period - 1) + unstable
    if start <= lookback:
        start = lookback
    if start > end:
        return 0, 0
    if period == 1:
        return copy_core(x, start, end, out)
    today = start - lookback
    k = 2.0 / (period + 1.0)
    omk = 1.0 - k
    total = x[today]
    today += 1
    for _ in range(period - 1):
        total += x[today]
        today += 1
    e1 = total / period
    total = e1
    for _ in range(period - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        total += e1
    e2 = total / period
    total = e2
    for _ in range(period - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        total += e2
    e3 = total / period
    total = e3
    for _ in range(period - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        e3 = k * e2 + omk * e3
        total += e3
    e4 = total / period
    total = e4
    for _ in range(period - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        e3 = k * e2 + omk * e3
        e4 = k * e3 + omk * e4
        total += e4
    e5 = total / period
    total = e5
    for _ in range(period - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        e3 = k * e2 + omk * e3
        e4 = k * e3 + omk * e4
        e5 = k * e4 + omk * e5
        total += e5
    e6 = total / period
    while today <= start:
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        e3 = k * e2 + omk * e3
        e4 = k * e3 + omk * e4
        e5 = k * e4 + omk * e5
        e6 = k * e5 + omk * e6
    c1, c2, c3, c4 = t3_coefficients(vfactor)
    out[0] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3
    m = 1
    while today <= end:
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        e3 = k * e2 + omk * e3
        e4 = k * e3 + omk * e4
        e5 = k * e4 + omk * e5
        e6 = k * e5 + omk * e6
        out[m] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3
        m += 1
    return start, m


@jit
def ma_core(
    x: FloatArray,
    start: int,
    end: int,
    period: int,
    matype: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
    out: FloatArray,
) -> tuple[int, int]:
    """``TA_MA``: dispatch on ``matype`` (0..8 but 7); period 1 copies the input."""
    if period == 1:
        return copy_core(x, start, end, out)
    if matype == 0:
        return sma_core(x, start, end, period, out)
    if matype == 1:
        return ema_core(x, start, end, period, 2.0 / (period + 1), ema_unstable, out)
    if matype == 2:
        return wma_core(x, start, end, period, out)
    if matype == 3:
        return dema_core(x, start, end, period, ema_unstable, out)
    if matype == 4:
        return tema_core(x, start, end, period, ema_unstable, out)
    if matype == 5:
        return trima_core(x, start, end, period, out)
    if matype == 6:
        return kama_core(x, start, end, period, kama_unstable, out)
    return t3_core(x, start, end, period, 0.7, t3_unstable, out)


# ---------------------------------------------------------------------------------------
# Streams: the same operations, one bar at a time.
# ---------------------------------------------------------------------------------------


# Each stream has a warm-up class (general, branchy) and a steady-state subclass with the
# same slots whose ``update`` is the bare recurrence; the warm-up code reassigns
# ``__class__`` once the first visible value is produced, so steady bars pay for no
# warm-up test. Period 1 (a copy in TA-Lib for most MAs) swaps to an identity class.


class CopyStream(Stream):
    """Period 1 of any MA: the input itself, after ``hidden`` unstable bars."""

    __slots__ = ("_hidden",)

    def __init__(self, hidden: int = 0) -> None:
        self._hidden = hidden

    def update(self, real: float) -> float:
        if self._hidden:
            self._hidden -= 1
            return NAN
        self.__class__ = _CopySteady
        return real


class _CopySteady(CopyStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return real


class SmaStream(Stream):
    """Incremental SMA: ring buffer of the window, the same running sum as the core."""

    __slots__ = ("_buf", "_count", "_period", "_pos", "_total")

    def __init__(self, timeperiod: int) -> None:
        self._period = timeperiod
        self._buf = [0.0] * timeperiod
        self._pos = 0
        self._count = 0
        self._total = 0.0

    def update(self, real: float) -> float:
        if self._count < self._period - 1:
            pos = self._pos
            self._buf[pos] = real
            self._pos = pos + 1
            self._total += real
            self._count += 1
            return NAN
        self.__class__ = _SmaSteady
        return _SmaSteady.update(self, real)  # type: ignore[arg-type]


class _SmaSteady(SmaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        buf = self._buf
        pos = self._pos
        buf[pos] = real
        pos += 1
        if pos == self._period:
            pos = 0
        self._pos = pos
        total = self._total + real
        # buf[pos] now holds the bar period-1 bars back: TA-Lib's trailing value.
        self._total = total - buf[pos]
        return total / self._period


class EmaStream(Stream):
    """Incremental EMA: SMA seed over the first ``period`` bars, then ``(x-prev)*k+prev``.

    ``unstable`` values after the seed are computed but reported as NaN (TA-Lib's EMA
    unstable period); period 1 is a copy of the input.
    """

    __slots__ = ("_count", "_hidden", "_k", "_period", "_prev")

    def __init__(self, timeperiod: int, unstable: int = 0, k: float | None = None) -> None:
        self._period = timeperiod
        self._k = 2.0 / (timeperiod + 1) if k is None else k
        self._hidden = unstable
        self._count = 0
        self._prev = 0.0

    def update(self, real: float) -> float:
        if self._period == 1:
            prev = real
        elif self._count >= self._period:
            prev = self._prev
            prev = (real - prev) * self._k + prev
            self._prev = prev
        else:
            prev = self._prev + real
            self._count += 1
            if self._count < self._period:
                self._prev = prev
                return NAN
            prev = prev / self._period
            self._prev = prev
        if self._hidden:
            self._hidden -= 1
            return NAN
        self.__class__ = _EmaCopy if self._period == 1 else _EmaSteady
        return prev


class _EmaSteady(EmaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        prev = self._prev
        prev = (real - prev) * self._k + prev
        self._prev = prev
        return prev


class _EmaCopy(EmaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return real


class WmaStream(Stream):
    """Incremental WMA: running sum and sub-sum, trailing value from a ring buffer.

    Like TA-Lib, both totals are rebuilt from the window every ``8 * period`` bars.
    """

    __slots__ = (
        "_buf",
        "_count",
        "_divider",
        "_period",
        "_pos",
        "_reseed",
        "_st",
        "_sub",
        "_sum",
        "_trail",
    )

    def __init__(self, timeperiod: int) -> None:
        self._period = timeperiod
        self._st = np.zeros(0)
        self._reseed = WMA_RESEED * timeperiod
        self._divider = (timeperiod * (timeperiod + 1)) >> 1
        self._buf = [0.0] * timeperiod
        self._pos = 0
        self._count = 0
        self._sub = 0.0
        self._sum = 0.0
        self._trail = 0.0

    def update(self, real: float) -> float:
        period = self._period
        if period == 1:
            self.__class__ = _WmaCopy
            return real
        if self._count < period - 1:
            pos = self._pos
            self._buf[pos] = real
            self._pos = pos + 1
            self._count += 1
            self._sub += real
            self._sum += real * self._count
            return NAN
        header = [self._pos, self._sub, self._sum, self._trail, self._reseed, self._divider]
        self._st = np.array([*header, period, *self._buf], dtype=np.float64)
        self.__class__ = _WmaSteady
        return wma_step(self._st, real)


class _WmaSteady(WmaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return self._step(self._st, real)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, x: float) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _WmaSteady._step = staticmethod(compiled(wma_step, st, 0.0))  # type: ignore[method-assign]
        return wma_step(st, x)


@jit
def wma_step(st: FloatArray, x: float) -> float:
    """One steady WMA bar on ``st = [pos, sub, sum, trail, reseed, divider, period, buf..]``."""
    period = int(st[6])
    pos = int(st[0])
    st[7 + pos] = x
    pos += 1
    if pos == period:
        pos = 0
    st[0] = pos
    sub = st[1] + x
    sub -= st[3]
    total = st[2] + x * period
    reseed = st[4] - 1
    if reseed <= 0:
        reseed = WMA_RESEED * period
        sub = 0.0
        total = 0.0
        for weight in range(1, period + 1):
            value = st[7 + (pos + weight - 1) % period]
            sub += value
            total += value * weight
    st[4] = reseed
    st[3] = st[7 + pos]
    value = total / st[5]
    st[2] = total - sub
    st[1] = sub
    return value  # type: ignore[no-any-return]


class _WmaCopy(WmaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return real


class _CascadeEma(Stream):
    """DEMA/TEMA warm-up: ``levels`` EMAs, each seeded from the previous one's values.

    Level ``j`` (0-based) starts at bar ``j * (period - 1 + unstable)`` with the
    previous level's value of that bar, seeds over ``period`` values (sum from 0.0,
    divided once), then follows ``(v - e) * k + e`` -- TA-Lib's lockstep order.
    """

    __slots__ = (
        "_bar",
        "_e",
        "_e1",
        "_e2",
        "_e3",
        "_k",
        "_levels",
        "_out_from",
        "_period",
        "_span",
        "_st",
        "_sums",
    )

    def __init__(self, timeperiod: int, unstable: int, levels: int) -> None:
        self._period = timeperiod
        self._k = 2.0 / (timeperiod + 1)
        self._levels = levels
        self._span = timeperiod - 1 + unstable
        self._out_from = levels * self._span
        self._bar = 0
        self._e = [0.0] * levels
        self._sums = [0.0] * levels
        self._e1 = 0.0
        self._e2 = 0.0
        self._e3 = 0.0
        self._st = np.zeros(0)

    def _advance(self, real: float) -> bool:
        """One warm-up bar of every level; True once the first output bar is reached."""
        bar = self._bar
        period = self._period
        k = self._k
        e = self._e
        sums = self._sums
        value = real
        for j in range(self._levels):
            begin = j * self._span
            if bar < begin:
                break
            if bar < begin + period:
                sums[j] += value
                if bar == begin + period - 1:
                    e[j] = sums[j] / period
                else:
                    break
            else:
                e[j] = (value - e[j]) * k + e[j]
            value = e[j]
        self._bar = bar + 1
        if bar < self._out_from:
            return False
        self._e1 = e[0]
        self._e2 = e[1]
        if self._levels == 3:
            self._e3 = e[2]
        return True


class DemaStream(_CascadeEma):
    """Incremental DEMA: 2*EMA1 - EMA2 (TA-Lib ``TA_DEMA``); period 1 copies."""

    __slots__ = ()

    def __init__(self, timeperiod: int, unstable: int = 0) -> None:
        super().__init__(timeperiod, unstable, 2)

    def update(self, real: float) -> float:
        if not self._advance(real):
            return NAN
        if self._period == 1:
            self.__class__ = _DemaCopy
            return real
        self._st = np.array([self._e1, self._e2, self._k], dtype=np.float64)
        self.__class__ = _DemaSteady
        return 2.0 * self._e1 - self._e2


class _DemaSteady(DemaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return self._step(self._st, real)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, x: float) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _DemaSteady._step = staticmethod(compiled(dema_step, st, 0.0))  # type: ignore[method-assign]
        return dema_step(st, x)


@jit
def dema_step(st: FloatArray, x: float) -> float:
    """One steady DEMA bar on ``st = [e1, e2, k]``."""
    k = st[2]
    e1 = st[0]
    e1 = (x - e1) * k + e1
    e2 = st[1]
    e2 = (e1 - e2) * k + e2
    st[0] = e1
    st[1] = e2
    return 2.0 * e1 - e2  # type: ignore[no-any-return]


class _DemaCopy(DemaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return real


class TemaStream(_CascadeEma):
    """Incremental TEMA: EMA3 + (3*EMA1 - 3*EMA2) (TA-Lib ``TA_TEMA``); period 1 copies."""

    __slots__ = ()

    def __init__(self, timeperiod: int, unstable: int = 0) -> None:
        super().__init__(timeperiod, unstable, 3)

    def update(self, real: float) -> float:
        if not self._advance(real):
            return NAN
        if self._period == 1:
            self.__class__ = _TemaCopy
            return real
        self._st = np.array([self._e1, self._e2, self._e3, self._k], dtype=np.float64)
        self.__class__ = _TemaSteady
        return self._e3 + (3.0 * self._e1 - 3.0 * self._e2)


class _TemaSteady(TemaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return self._step(self._st, real)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, x: float) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _TemaSteady._step = staticmethod(compiled(tema_step, st, 0.0))  # type: ignore[method-assign]
        return tema_step(st, x)


@jit
def tema_step(st: FloatArray, x: float) -> float:
    """One steady TEMA bar on ``st = [e1, e2, e3, k]``."""
    k = st[3]
    e1 = st[0]
    e1 = (x - e1) * k + e1
    e2 = st[1]
    e2 = (e1 - e2) * k + e2
    e3 = st[2]
    e3 = (e2 - e3) * k + e3
    st[0] = e1
    st[1] = e2
    st[2] = e3
    return e3 + (3.0 * e1 - 3.0 * e2)  # type: ignore[no-any-return]


class _TemaCopy(TemaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return real


class TrimaStream(Stream):
    """Incremental TRIMA: TA-Lib's numerator with its add/sub running sums."""

    __slots__ = (
        "_add",
        "_buf",
        "_count",
        "_factor",
        "_half",
        "_num",
        "_odd",
        "_period",
        "_pos",
        "_st",
        "_sub",
        "_trail",
    )

    def __init__(self, timeperiod: int) -> None:
        self._period = timeperiod
        self._st = np.zeros(0)
        half = timeperiod >> 1
        self._half = half
        self._odd = timeperiod % 2 == 1
        self._factor = 1.0 / ((half + 1) * (half + 1)) if self._odd else 1.0 / (half * (half + 1))
        self._buf = [0.0] * timeperiod
        self._pos = 0
        self._count = 0
        self._num = 0.0
        self._sub = 0.0
        self._add = 0.0
        self._trail = 0.0

    def update(self, real: float) -> float:
        """Warm-up: buffer the first window, then the C code's two initial sums."""
        period = self._period
        buf = self._buf
        buf[self._count] = real
        self._count += 1
        if self._count < period:
            return NAN
        half = self._half
        middle = half if self._odd else half - 1
        numerator = 0.0
        sub = 0.0
        for i in range(middle, -1, -1):
            sub += buf[i]
            numerator += sub
        add = 0.0
        for i in range(middle + 1, period):
            add += buf[i]
            numerator += add
        self._num = numerator
        self._sub = sub
        self._add = add
        self._trail = buf[0]
        self._pos = 0
        header = [0, numerator, sub, add, buf[0], self._factor, half, period, float(self._odd)]
        self._st = np.array([*header, *buf], dtype=np.float64)
        self.__class__ = _TrimaSteady
        return numerator * self._factor


class _TrimaSteady(TrimaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return self._step(self._st, real)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, x: float) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _TrimaSteady._step = staticmethod(compiled(trima_step, st, 0.0))  # type: ignore[method-assign]
        return trima_step(st, x)


@jit
def trima_step(st: FloatArray, x: float) -> float:
    """One steady TRIMA bar on
    ``st = [pos, numerator, sub, add, trail, factor, half, period, odd, buf..]``."""
    period = int(st[7])
    half = int(st[6])
    pos = int(st[0])
    st[9 + pos] = x
    middle_value = st[9 + (pos - half) % period]
    pos += 1
    if pos == period:
        pos = 0
    st[0] = pos
    numerator = st[1] - st[2]
    sub = st[2] - st[4]
    sub += middle_value
    add = st[3]
    if st[8] != 0.0:
        numerator += add
        add -= middle_value
    else:
        add -= middle_value
        numerator += add
    add += x
    numerator += x
    st[4] = st[9 + pos]
    st[1] = numerator
    st[2] = sub
    st[3] = add
    return numerator * st[5]  # type: ignore[no-any-return]


class KamaStream(Stream):
    """Incremental KAMA: sum of 1-bar changes over the window, adaptive EMA."""

    __slots__ = (
        "_buf",
        "_count",
        "_hidden",
        "_last",
        "_period",
        "_pos",
        "_prev",
        "_st",
        "_sum",
        "_trail",
    )

    def __init__(self, timeperiod: int, unstable: int = 0) -> None:
        self._period = timeperiod
        self._st = np.zeros(0)
        self._hidden = unstable
        self._buf = [0.0] * (timeperiod + 1)
        self._pos = 0
        self._count = 0
        self._sum = 0.0
        self._prev = 0.0
        self._last = 0.0
        self._trail = 0.0

    def update(self, real: float) -> float:
        period = self._period
        if period == 1:
            if self._hidden:
                self._hidden -= 1
                return NAN
            self.__class__ = _KamaCopy
            return real
        count = self._count
        if count < period:
            # Bars 0..period-1: accumulate |x[i] - x[i+1]| as the C seed loop does.
            self._buf[count] = real
            self._pos = count + 1
            if count > 0:
                self._sum += abs(self._last - real)
            self._last = real
            self._count = count + 1
            return NAN
        if count == period:
            self._count = count + 1
            buf = self._buf
            buf[period] = real
            self._pos = 0
            oldest = buf[0]  # x[t - period]
            self._sum += abs(self._last - real)
            sc = _kama_factor_py(self._sum, real - oldest)
            prev = self._last
            prev = fma_py(real - prev, sc, prev)
            self._trail = oldest
            self._last = real
            self._prev = prev
            header = [self._pos, self._sum, prev, real, oldest, period]
            self._st = np.array([*header, *buf], dtype=np.float64)
        else:
            prev = kama_step(self._st, real)
        if self._hidden:
            self._hidden -= 1
            return NAN
        self.__class__ = _KamaSteady
        return prev


class _KamaSteady(KamaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return self._step(self._st, real)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, x: float) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _KamaSteady._step = staticmethod(compiled(kama_step, st, 0.0))  # type: ignore[method-assign]
        return kama_step(st, x)


@jit
def kama_step(st: FloatArray, x: float) -> float:
    """One steady KAMA bar on ``st = [pos, sum, prev, last, trail, period, buf(period+1)..]``."""
    period = int(st[5])
    pos = int(st[0])
    st[6 + pos] = x
    pos += 1
    if pos > period:
        pos = 0
    st[0] = pos
    oldest = st[6 + pos]  # x[t - period]
    period_roc = x - oldest
    departing = abs(st[4] - oldest)
    total = st[1] - departing
    total += abs(x - st[3])
    if departing > KAMA_REBUILD * total:
        # Rebuild from the ring (period + 1 values, oldest at pos), oldest change first.
        total = 0.0
        size = period + 1
        before = oldest
        for j in range(1, size):
            value = st[6 + (pos + j) % size]
            total += abs(value - before)
            before = value
    st[1] = total
    if total <= period_roc or -KAMA_EPSILON < total < KAMA_EPSILON:
        ratio = 1.0
    else:
        ratio = abs(period_roc / total)
    sc = fma(ratio, KAMA_DIFF, KAMA_MAX)
    sc *= sc
    prev = st[2]
    prev = fma(x - prev, sc, prev)
    st[4] = oldest
    st[3] = x
    st[2] = prev
    return prev  # type: ignore[no-any-return]


class _KamaCopy(KamaStream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return real


class T3Stream(Stream):
    """Incremental T3: six EMAs seeded in cascade, Tillson's c1..c4 combination."""

    __slots__ = (
        "_bar",
        "_c1",
        "_c2",
        "_c3",
        "_c4",
        "_e",
        "_hidden",
        "_k",
        "_omk",
        "_period",
        "_st",
        "_total",
    )

    def __init__(self, timeperiod: int, vfactor: float = 0.7, unstable: int = 0) -> None:
        self._period = timeperiod
        self._k = 2.0 / (timeperiod + 1.0)
        self._omk = 1.0 - self._k
        self._c1, self._c2, self._c3, self._c4 = _py(t3_coefficients)(vfactor)
        self._hidden = unstable
        self._bar = 0
        self._e = [0.0] * 6
        self._total = 0.0
        self._st = np.zeros(0)

    def update(self, real: float) -> float:
        if self._period == 1:
            value = real
        elif self._bar <= 6 * (self._period - 1):
            ready = self._seed(real)
            self._bar += 1
            if not ready:
                return NAN
            e = self._e
            coefficients = [self._k, self._omk, self._c1, self._c2, self._c3, self._c4]
            self._st = np.array([*e, *coefficients], dtype=np.float64)
            value = self._c1 * e[5] + self._c2 * e[4] + self._c3 * e[3]
            value += self._c4 * e[2]
        else:
            value = t3_step(self._st, real)
        if self._hidden:
            self._hidden -= 1
            return NAN
        self.__class__ = _T3Copy if self._period == 1 else _T3Steady
        return value

    def _seed(self, real: float) -> bool:
        """Bars 0..6*(period-1): the C code's six seeding loops, one bar at a time.

        Returns True on the bar that completes the sixth EMA's seed.
        """
        period = self._period
        bar = self._bar
        e = self._e
        if bar < period:
            self._total = real if bar == 0 else self._total + real
            if bar == period - 1:
                e[0] = self._total / period
                self._total = e[0]
            return False
        k = self._k
        omk = self._omk
        level = (bar - period) // (period - 1) + 1  # seeding e[level], 1..5
        e[0] = k * real + omk * e[0]
        for j in range(1, level):
            e[j] = k * e[j - 1] + omk * e[j]
        self._total += e[level - 1]
        if (bar - period + 1) % (period - 1) != 0:
            return False
        e[level] = self._total / period
        self._total = e[level]
        return level == 5


class _T3Steady(T3Stream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return self._step(self._st, real)  # type: ignore[no-any-return]

    @staticmethod
    def _step(st: FloatArray, x: float) -> Any:
        """First call: replace this shim by the compiled entry point (see ``compiled``)."""
        _T3Steady._step = staticmethod(compiled(t3_step, st, 0.0))  # type: ignore[method-assign]
        return t3_step(st, x)


@jit
def t3_step(st: FloatArray, x: float) -> float:
    """One steady T3 bar on ``st = [e1..e6, k, 1-k, c1, c2, c3, c4]``."""
    k = st[6]
    omk = st[7]
    e1 = k * x + omk * st[0]
    e2 = k * e1 + omk * st[1]
    e3 = k * e2 + omk * st[2]
    e4 = k * e3 + omk * st[3]
    e5 = k * e4 + omk * st[4]
    e6 = k * e5 + omk * st[5]
    st[0] = e1
    st[1] = e2
    st[2] = e3
    st[3] = e4
    st[4] = e5
    st[5] = e6
    return st[8] * e6 + st[9] * e5 + st[10] * e4 + st[11] * e3  # type: ignore[no-any-return]


class _T3Copy(T3Stream):
    __slots__ = ()

    def update(self, real: float) -> float:
        return real


def ma_stream(
    period: int, matype: int, ema_unstable: int = 0, kama_unstable: int = 0, t3_unstable: int = 0
) -> Stream:
    """The stream equivalent of :func:`ma_core` (``TA_MA``) for one ``matype``."""
    if period == 1:
        return CopyStream()
    if matype == 0:
        return SmaStream(period)
    if matype == 1:
        return EmaStream(period, ema_unstable)
    if matype == 2:
        return WmaStream(period)
    if matype == 3:
        return DemaStream(period, ema_unstable)
    if matype == 4:
        return TemaStream(period, ema_unstable)
    if matype == 5:
        return TrimaStream(period)
    if matype == 6:
        return KamaStream(period, kama_unstable)
    if matype == 8:
        return T3Stream(period, 0.7, t3_unstable)
    raise ValueError(f"matype={matype}: not supported (MAMA is refused, valid codes 0..8)")
