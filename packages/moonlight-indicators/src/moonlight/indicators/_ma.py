"""TA-Lib's moving averages as C-style Numba cores, plus the ``MA_Type`` dispatcher.

Every ``*_core(x, start, end, period, out)`` is a port of TA-Lib's ``TA_<MA>_Unguarded``
(ta-lib C sources, ``src/ta_func/ta_<MA>.c``): it computes outputs for bars
``max(start, lookback) .. end`` of ``x`` into ``out[0:count]`` and returns
``(first_bar, count)`` exactly like TA-Lib's ``outBegIdx``/``outNBElement``. Composite
indicators (bbands, stoch, macd, kc...) call :func:`ma_core` with the ``matype`` codes
0..8 of TA-Lib (see :data:`MA_NAMES`) the way TA-Lib calls ``TA_MA``.

The stream steps next to the cores (``<ma>_state``/``<ma>_step``) do the same
floating-point operations in the same order, so a stream and a batch call give
bit-identical values; :func:`ma_state`/:func:`ma_step` are the stream twin of
:func:`ma_core` for any ``matype``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from moonlight.indicators import _declarations
from moonlight.indicators._jit import jit
from moonlight.indicators._kernels import fma, py_func

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


# ---------------------------------------------------------------------------------------
# Lookbacks (TA_<MA>_Lookback, TA_MA_Lookback)
# ---------------------------------------------------------------------------------------


#: ``TA_MA_Lookback`` compiled for the kernels (the plain function is the declarations').
ma_lookback = jit(_declarations.ma_lookback)


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
    x: FloatArray, start: int, end: int, period: int, unstable: int, out: FloatArray
) -> tuple[int, int]:
    """``TA_INT_EMA``: ``k = 2 / (period + 1)``, seeded with the SMA of the first ``period``
    bars.

    ``unstable`` is TA-Lib's EMA unstable period: the seed stays where it is and the
    first ``unstable`` values are computed but not written.
    """
    k = 2.0 / (period + 1)
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
        return ema_core(x, start, end, period, ema_unstable, out)
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
# Streams: each MA as a step on a float64 state (``_define`` explains steps and states).
# Every step does its core's floating-point operations in the core's order, so a stream
# and a batch call give bit-identical values.
# ---------------------------------------------------------------------------------------


def sma_state(timeperiod: int) -> list[float]:
    """SMA: ``[period, count, pos, total, ring(period)]``."""
    return [float(timeperiod), 0.0, 0.0, 0.0, *([0.0] * timeperiod)]


@jit
def sma_step(st: FloatArray, at: int, x: float) -> float:
    """One SMA bar: TA_INT_SMA's running sum, the window in a ring."""
    s = st[at:]
    period = int(s[0])
    count = int(s[1])
    if count < period - 1:
        s[4 + count] = x
        s[1] = count + 1
        s[2] = count + 1
        s[3] += x
        return NAN
    pos = int(s[2])
    s[4 + pos] = x
    pos += 1
    if pos == period:
        pos = 0
    s[2] = pos
    total = s[3] + x
    # The ring slot at pos now holds the bar period-1 bars back: TA-Lib's trailing value.
    s[3] = total - s[4 + pos]
    return total / period  # type: ignore[no-any-return]


def ema_state(timeperiod: int, unstable: int = 0) -> list[float]:
    """EMA: ``[period, k, hidden, count, prev]``."""
    return [float(timeperiod), 2.0 / (timeperiod + 1), float(unstable), 0.0, 0.0]


@jit
def ema_step(st: FloatArray, at: int, x: float) -> float:
    """One EMA bar: SMA seed over ``period`` bars, then ``(x - prev) * k + prev``.

    The ``hidden`` (unstable) values after the seed are computed but reported as NaN;
    period 1 copies the input.
    """
    s = st[at:]
    period = int(s[0])
    if period == 1:
        value = x
    elif s[3] >= period:
        prev = s[4]
        value = (x - prev) * s[1] + prev
        s[4] = value
    else:
        value = s[4] + x
        count = s[3] + 1.0
        s[3] = count
        if count < period:
            s[4] = value
            return NAN
        value = value / period
        s[4] = value
    if s[2] > 0.0:
        s[2] -= 1.0
        return NAN
    return value


def wma_state(timeperiod: int) -> list[float]:
    """WMA: ``[period, count, pos, sub, sum, trail, reseed, divider, ring(period)]``."""
    divider = (timeperiod * (timeperiod + 1)) >> 1
    header = [float(timeperiod), 0.0, 0.0, 0.0, 0.0, 0.0, float(WMA_RESEED * timeperiod)]
    return [*header, float(divider), *([0.0] * timeperiod)]


@jit
def wma_step(st: FloatArray, at: int, x: float) -> float:
    """One WMA bar: running sum and sub-sum, both rebuilt every ``8 * period`` bars."""
    s = st[at:]
    period = int(s[0])
    if period == 1:
        return x
    count = int(s[1])
    if count < period - 1:
        s[8 + count] = x
        count += 1
        s[1] = count
        s[2] = count
        s[3] += x
        s[4] += x * count
        return NAN
    pos = int(s[2])
    s[8 + pos] = x
    pos += 1
    if pos == period:
        pos = 0
    s[2] = pos
    sub = s[3] + x
    sub -= s[5]
    total = s[4] + x * period
    reseed = s[6] - 1.0
    if reseed <= 0.0:
        reseed = float(WMA_RESEED * period)
        sub = 0.0
        total = 0.0
        for weight in range(1, period + 1):
            value = s[8 + (pos + weight - 1) % period]
            sub += value
            total += value * weight
    s[6] = reseed
    s[5] = s[8 + pos]
    value = total / s[7]
    s[4] = total - sub
    s[3] = sub
    return value  # type: ignore[no-any-return]


def _cascade_state(timeperiod: int, unstable: int, levels: int) -> list[float]:
    """DEMA/TEMA: ``[period, k, levels, span, out_from, bar, e(3), sums(3)]``."""
    span = timeperiod - 1 + unstable
    header = [float(timeperiod), 2.0 / (timeperiod + 1), float(levels), float(span)]
    return [*header, float(levels * span), 0.0, *([0.0] * 6)]


def dema_state(timeperiod: int, unstable: int = 0) -> list[float]:
    return _cascade_state(timeperiod, unstable, 2)


def tema_state(timeperiod: int, unstable: int = 0) -> list[float]:
    return _cascade_state(timeperiod, unstable, 3)


@jit
def _cascade_warmup(s: FloatArray, x: float) -> bool:
    """One warm-up bar of every cascaded EMA level; True from the first output bar on.

    Level ``j`` starts at bar ``j * span`` with the previous level's value of that bar,
    seeds over ``period`` values (a sum from 0.0 divided once), then follows
    ``(v - e) * k + e`` -- TA-Lib's lockstep order.
    """
    period = int(s[0])
    k = s[1]
    span = int(s[3])
    bar = int(s[5])
    value = x
    for j in range(int(s[2])):
        begin = j * span
        if bar < begin:
            break
        if bar < begin + period:
            s[9 + j] += value
            if bar != begin + period - 1:
                break
            s[6 + j] = s[9 + j] / period
        else:
            s[6 + j] = (value - s[6 + j]) * k + s[6 + j]
        value = s[6 + j]
    s[5] = bar + 1
    return bar >= s[4]  # type: ignore[no-any-return]


@jit
def dema_step(st: FloatArray, at: int, x: float) -> float:
    """One DEMA bar: ``2 * EMA1 - EMA2`` (TA-Lib ``TA_DEMA``); period 1 copies."""
    s = st[at:]
    if s[5] <= s[4]:
        if not _cascade_warmup(s, x):
            return NAN
        return x if s[0] == 1.0 else 2.0 * s[6] - s[7]
    if s[0] == 1.0:
        return x
    k = s[1]
    e1 = (x - s[6]) * k + s[6]
    e2 = (e1 - s[7]) * k + s[7]
    s[6] = e1
    s[7] = e2
    return 2.0 * e1 - e2  # type: ignore[no-any-return]


@jit
def tema_step(st: FloatArray, at: int, x: float) -> float:
    """One TEMA bar: ``EMA3 + (3 * EMA1 - 3 * EMA2)`` (TA-Lib ``TA_TEMA``); period 1 copies."""
    s = st[at:]
    if s[5] <= s[4]:
        if not _cascade_warmup(s, x):
            return NAN
        return x if s[0] == 1.0 else s[8] + (3.0 * s[6] - 3.0 * s[7])
    if s[0] == 1.0:
        return x
    k = s[1]
    e1 = (x - s[6]) * k + s[6]
    e2 = (e1 - s[7]) * k + s[7]
    e3 = (e2 - s[8]) * k + s[8]
    s[6] = e1
    s[7] = e2
    s[8] = e3
    return e3 + (3.0 * e1 - 3.0 * e2)  # type: ignore[no-any-return]


def trima_state(timeperiod: int) -> list[float]:
    """TRIMA: ``[period, half, odd, factor, count, pos, numerator, sub, add, trail,
    ring(period)]``."""
    half = timeperiod >> 1
    odd = timeperiod % 2 == 1
    factor = 1.0 / ((half + 1) * (half + 1)) if odd else 1.0 / (half * (half + 1))
    header = [float(timeperiod), float(half), 1.0 if odd else 0.0, factor]
    return [*header, *([0.0] * 6), *([0.0] * timeperiod)]


@jit
def trima_step(st: FloatArray, at: int, x: float) -> float:
    """One TRIMA bar: TA-Lib's numerator with its add/sub running sums.

    The first window is buffered, then summed as the C code's two initial loops do.
    """
    s = st[at:]
    period = int(s[0])
    half = int(s[1])
    count = int(s[4])
    if count < period:
        s[10 + count] = x
        count += 1
        s[4] = count
        if count < period:
            return NAN
        middle = half if s[2] != 0.0 else half - 1
        numerator = 0.0
        sub = 0.0
        for i in range(middle, -1, -1):
            sub += s[10 + i]
            numerator += sub
        add = 0.0
        for i in range(middle + 1, period):
            add += s[10 + i]
            numerator += add
        s[5] = 0.0
        s[6] = numerator
        s[7] = sub
        s[8] = add
        s[9] = s[10]
        return numerator * s[3]  # type: ignore[no-any-return]
    pos = int(s[5])
    s[10 + pos] = x
    middle_value = s[10 + (pos - half) % period]
    pos += 1
    if pos == period:
        pos = 0
    s[5] = pos
    numerator = s[6] - s[7]
    sub = s[7] - s[9]
    sub += middle_value
    add = s[8]
    if s[2] != 0.0:
        numerator += add
        add -= middle_value
    else:
        add -= middle_value
        numerator += add
    add += x
    numerator += x
    s[9] = s[10 + pos]
    s[6] = numerator
    s[7] = sub
    s[8] = add
    return numerator * s[3]  # type: ignore[no-any-return]


def kama_state(timeperiod: int, unstable: int = 0) -> list[float]:
    """KAMA: ``[period, hidden, count, pos, sum, prev, last, trail, ring(period + 1)]``."""
    return [float(timeperiod), float(unstable), *([0.0] * 6), *([0.0] * (timeperiod + 1))]


@jit
def kama_step(st: FloatArray, at: int, x: float) -> float:
    """One KAMA bar: sum of 1-bar changes over the window, adaptive (fused) EMA step."""
    s = st[at:]
    period = int(s[0])
    count = int(s[2])
    if period == 1:
        value = x
    elif count < period:
        # Bars 0..period-1: accumulate |x[i] - x[i+1]| as the C seed loop does.
        s[8 + count] = x
        s[3] = count + 1
        if count > 0:
            s[4] += abs(s[6] - x)
        s[6] = x
        s[2] = count + 1
        return NAN
    else:
        if count == period:
            s[2] = count + 1
            s[8 + period] = x
            s[3] = 0.0
            oldest = s[8]
            total = s[4] + abs(s[6] - x)
        else:
            pos = int(s[3])
            s[8 + pos] = x
            pos += 1
            if pos > period:
                pos = 0
            s[3] = pos
            oldest = s[8 + pos]  # x[t - period]
            departing = abs(s[7] - oldest)
            total = s[4] - departing
            total += abs(x - s[6])
            if departing > KAMA_REBUILD * total:
                # Rebuild from the ring (period + 1 values, oldest at pos).
                total = 0.0
                size = period + 1
                before = oldest
                for j in range(1, size):
                    later = s[8 + (pos + j) % size]
                    total += abs(later - before)
                    before = later
        s[4] = total
        sc = _kama_factor(total, x - oldest)
        prev = s[5] if count > period else s[6]
        value = fma(x - prev, sc, prev)
        s[7] = oldest
        s[6] = x
        s[5] = value
    if s[1] > 0.0:
        s[1] -= 1.0
        return NAN
    return value


def t3_state(timeperiod: int, vfactor: float = 0.7, unstable: int = 0) -> list[float]:
    """T3: ``[period, k, 1 - k, c1, c2, c3, c4, hidden, bar, total, e(6)]``."""
    k = 2.0 / (timeperiod + 1.0)
    coefficients = py_func(t3_coefficients)(vfactor)
    return [float(timeperiod), k, 1.0 - k, *coefficients, float(unstable), *([0.0] * 8)]


@jit
def _t3_seed(s: FloatArray, x: float) -> bool:
    """Bars 0..6*(period-1): the C code's six seeding loops, one bar at a time.

    Returns True on the bar that completes the sixth EMA's seed.
    """
    period = int(s[0])
    bar = int(s[8])
    if bar < period:
        s[9] = x if bar == 0 else s[9] + x
        if bar == period - 1:
            s[10] = s[9] / period
            s[9] = s[10]
        return False
    k = s[1]
    omk = s[2]
    level = (bar - period) // (period - 1) + 1  # seeding e[level], 1..5
    s[10] = k * x + omk * s[10]
    for j in range(1, level):
        s[10 + j] = k * s[9 + j] + omk * s[10 + j]
    s[9] += s[9 + level]
    if (bar - period + 1) % (period - 1) != 0:
        return False
    s[10 + level] = s[9] / period
    s[9] = s[10 + level]
    return level == 5


@jit
def t3_step(st: FloatArray, at: int, x: float) -> float:
    """One T3 bar: six cascaded ``k*x + (1-k)*e`` EMAs, Tillson's c1..c4 combination."""
    s = st[at:]
    period = int(s[0])
    if period == 1:
        value = x
    else:
        if s[8] <= 6 * (period - 1):
            ready = _t3_seed(s, x)
            s[8] += 1.0
            if not ready:
                return NAN
        else:
            k = s[1]
            omk = s[2]
            s[10] = k * x + omk * s[10]
            for j in range(11, 16):
                s[j] = k * s[j - 1] + omk * s[j]
        value = s[3] * s[15] + s[4] * s[14] + s[5] * s[13] + s[6] * s[12]
    if s[7] > 0.0:
        s[7] -= 1.0
        return NAN
    return value


def ma_state(
    period: int, matype: int, ema_unstable: int = 0, kama_unstable: int = 0, t3_unstable: int = 0
) -> list[float]:
    """The state of :func:`ma_step` for one ``matype`` (``TA_MA``): ``[kind, ...]``.

    Kind -1 is period 1 (TA_MA copies the input, with no unstable bars).
    """
    if period == 1:
        return [-1.0]
    states = {
        0: lambda: sma_state(period),
        1: lambda: ema_state(period, ema_unstable),
        2: lambda: wma_state(period),
        3: lambda: dema_state(period, ema_unstable),
        4: lambda: tema_state(period, ema_unstable),
        5: lambda: trima_state(period),
        6: lambda: kama_state(period, kama_unstable),
        8: lambda: t3_state(period, 0.7, t3_unstable),
    }
    if matype not in states:
        raise ValueError(f"matype={matype}: not supported (MAMA is refused, valid codes 0..8)")
    return [float(matype), *states[matype]()]


def ma_size(period: int, matype: int) -> int:
    """Length of :func:`ma_state` (composite steps place what follows after it)."""
    return len(ma_state(period, matype))


@jit
def ma_step(st: FloatArray, at: int, x: float) -> float:
    """One bar of the MA whose :func:`ma_state` starts at ``at`` (``TA_MA``'s dispatch)."""
    kind = st[at]
    inner = at + 1
    if kind == 0.0:
        return sma_step(st, inner, x)
    if kind == 1.0:
        return ema_step(st, inner, x)
    if kind == 2.0:
        return wma_step(st, inner, x)
    if kind == 3.0:
        return dema_step(st, inner, x)
    if kind == 4.0:
        return tema_step(st, inner, x)
    if kind == 5.0:
        return trima_step(st, inner, x)
    if kind == 6.0:
        return kama_step(st, inner, x)
    if kind == 8.0:
        return t3_step(st, inner, x)
    return x
