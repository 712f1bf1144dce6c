"""Overlap studies: moving averages and bands drawn on the price scale.

TA-Lib-exact ports (TA-Lib C sources ``src/ta_func/ta_<NAME>.c``, called through the
ta-lib 0.8.2 Python wrapper): sma, ema, wma, dema, tema, trima, kama, t3, bbands, macd,
linearreg, stoch.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from moonlight.indicators import _declarations, _ma
from moonlight.indicators._define import implement
from moonlight.indicators._jit import jit
from moonlight.indicators._kernels import begin1, begin3, fill_nan
from moonlight.indicators.momentum import (
    block_scan,
    extreme_value,
    extremes_state,
    extremes_step,
)

FloatArray = npt.NDArray[np.float64]

NAN = math.nan
NAN3 = (NAN, NAN, NAN)
NAN2 = (NAN, NAN)


# ---------------------------------------------------------------------------------------
# The moving averages: a TA-Lib core each (``_ma``), the kernel generated around it
# ---------------------------------------------------------------------------------------


sma = implement("sma", vars(_ma))
sma_kernel = sma.kernel  # type: ignore[attr-defined]

ema = implement("ema", vars(_ma))
ema_kernel = ema.kernel  # type: ignore[attr-defined]

wma = implement("wma", vars(_ma))
wma_kernel = wma.kernel  # type: ignore[attr-defined]

dema = implement("dema", vars(_ma))
dema_kernel = dema.kernel  # type: ignore[attr-defined]

tema = implement("tema", vars(_ma))
tema_kernel = tema.kernel  # type: ignore[attr-defined]

trima = implement("trima", vars(_ma))
trima_kernel = trima.kernel  # type: ignore[attr-defined]

kama = implement("kama", vars(_ma))
kama_kernel = kama.kernel  # type: ignore[attr-defined]

t3 = implement("t3", vars(_ma))
t3_kernel = t3.kernel  # type: ignore[attr-defined]

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


def bbands_state(
    timeperiod: int,
    nbdevup: float,
    nbdevdn: float,
    matype: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
) -> list[float]:
    """Bollinger stream: ``[period, 1/period, up, dn, var_from, bar, count, pos, shift,
    sum1, sum2, bars, total, ma_at, ring(period), MA state]``.

    The variance window starts at ``var_from`` (TA-Lib's bar: the MA's lookback beyond
    the window's); ``total`` is TA-Lib's SMA fast path (matype 0), taken over from the
    MA state once the variance runs; ``ma_at`` is the MA state's offset.
    """
    unstable = (ema_unstable, kama_unstable, t3_unstable)
    lookback = max(_declarations.ma_lookback(timeperiod, matype, *unstable), timeperiod - 1)
    header = [float(timeperiod), 1.0 / timeperiod, nbdevup, nbdevdn]
    header += [float(lookback - (timeperiod - 1)), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    header += [float(VAR_RESEED * timeperiod), 0.0, float(_BBANDS_RING + timeperiod)]
    ring = [0.0] * timeperiod
    return [*header, *ring, *_ma.ma_state(timeperiod, matype, *unstable)]


_BBANDS_RING = 14


@jit
def bbands_step(st: FloatArray, at: int, real: float) -> tuple[float, float, float]:
    """One Bollinger bar: the MA (inline for SMA, TA-Lib's fast path) and the
    shifted-sum variance with TA-Lib's reseed triggers, started at TA-Lib's bar."""
    s = st[at:]
    period = int(s[0])
    ma = at + int(s[13])
    sma = st[ma] == 0.0
    count = int(s[6])
    if count == period:
        if sma:
            return _bbands_bar(s, real, 0.0, True)
        return _bbands_bar(s, real, _ma.ma_step(st, ma, real), False)
    bar = s[5]
    s[5] = bar + 1.0
    mid = _ma.ma_step(st, ma, real)
    if bar < s[4]:
        return NAN3
    if count < period - 1:
        # Prime the variance window (shift = its first value), as TA_VAR does.
        if count == 0:
            s[8] = real
        s[_BBANDS_RING + count] = real
        s[7] = count + 1
        dev = real - s[8]
        s[9] += dev
        s[10] += dev * dev
        s[6] = count + 1
        return NAN3
    s[6] = period
    bands = _bbands_bar(s, real, mid, False)
    # The SMA state shares this window: take over its running sum (after this bar).
    s[12] = st[ma + 4] if sma else 0.0
    return bands


@jit
def _bbands_bar(s: FloatArray, x: float, mid: float, sma: bool) -> tuple[float, float, float]:
    """One steady Bollinger bar on the state view ``s`` (see :func:`bbands_state`).

    With ``sma`` the middle band is TA_INT_SMA's running sum on the variance window;
    otherwise ``mid`` comes from the MA state.
    """
    period = int(s[0])
    inv = s[1]
    ring = _BBANDS_RING
    pos = int(s[7])
    s[ring + pos] = x
    pos += 1
    if pos == period:
        pos = 0
    s[7] = pos
    oldest = s[ring + pos]
    if sma:
        total = s[12] + x
        mid = total / period
        s[12] = total - oldest
    shift = s[8]
    dev = x - shift
    sum1 = s[9] + dev
    dev *= dev
    sum2 = s[10] + dev
    mean = sum1 * inv
    variance = sum2 * inv - mean * mean
    dev = oldest - shift
    sum1 -= dev
    dev *= dev
    sum2 -= dev
    bars = s[11] - 1.0
    if variance < 0.000001 * (sum2 * inv) or dev > 1000000.0 * sum2 or bars <= 0.0:
        bars = float(VAR_RESEED * period)
        window = 0.0
        for j in range(period):
            window += s[ring + (pos + j) % period]
        shift = window * inv
        sum1 = 0.0
        sum2 = 0.0
        for j in range(period):
            dev = s[ring + (pos + j) % period] - shift
            sum1 += dev
            dev *= dev
            sum2 += dev
        mean = sum1 * inv
        variance = sum2 * inv - mean * mean
        dev = oldest - shift
        sum1 -= dev
        dev *= dev
        sum2 -= dev
        s[8] = shift
    s[11] = bars
    s[9] = sum1
    s[10] = sum2
    return _bands(variance, mid, s[2], s[3])


bbands = implement("bbands", globals())

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


def macd_state(
    fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9, unstable: int = 0
) -> list[float]:
    """MACD stream: ``[fast, slow, signal, k_fast, k_slow, k_signal, fast_from, m_from,
    out_from, bar, fast_ema, slow_ema, signal_ema, fast_sum, slow_sum, signal_sum]``.

    The slow EMA starts at bar 0, the fast one at bar ``slow - fast`` (TA-Lib's
    alignment), the signal EMA of the MACD line at bar ``slow - 1 + unstable``.
    """
    if slowperiod < fastperiod:
        fastperiod, slowperiod = slowperiod, fastperiod
    m_from = slowperiod - 1 + unstable
    periods = [float(fastperiod), float(slowperiod), float(signalperiod)]
    factors = [2.0 / (fastperiod + 1), 2.0 / (slowperiod + 1), 2.0 / (signalperiod + 1)]
    starts = [float(slowperiod - fastperiod), float(m_from)]
    starts.append(float(m_from + signalperiod - 1 + unstable))
    return [*periods, *factors, *starts, *([0.0] * 7)]


@jit
def macd_step(st: FloatArray, at: int, real: float) -> tuple[float, float, float]:
    """One MACD bar: EMA(fast) - EMA(slow), its EMA(signal), and their difference."""
    s = st[at:]
    bar = s[9]
    if bar > s[8]:
        slow = (real - s[11]) * s[4] + s[11]
        fast = (real - s[10]) * s[3] + s[10]
        line = fast - slow
        signal = (line - s[12]) * s[5] + s[12]
        s[10] = fast
        s[11] = slow
        s[12] = signal
        return line, signal, line - signal
    s[9] = bar + 1.0
    if bar >= s[1]:
        s[11] = (real - s[11]) * s[4] + s[11]
    else:
        s[14] += real
        if bar == s[1] - 1.0:
            s[11] = s[14] / int(s[1])
    fast_bar = bar - s[6]
    if fast_bar >= s[0]:
        s[10] = (real - s[10]) * s[3] + s[10]
    elif fast_bar >= 0.0:
        s[13] += real
        if fast_bar == s[0] - 1.0:
            s[10] = s[13] / int(s[0])
    if bar < s[7]:
        return NAN3
    line = s[10] - s[11]
    signal_bar = bar - s[7]
    if signal_bar >= s[2]:
        s[12] = (line - s[12]) * s[5] + s[12]
    else:
        s[15] += line
        if signal_bar == s[2] - 1.0:
            s[12] = s[15] / int(s[2])
    if bar < s[8]:
        return NAN3
    signal = s[12]
    return line, signal, line - signal


macd = implement("macd", globals())

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


def linearreg_state(timeperiod: int) -> list[float]:
    """LINEARREG stream: ``[period, count, pos, sum_y, sum_xy, sum_abs, trail, bars,
    sum_x, divisor, ring(period)]``."""
    period = timeperiod
    sum_x = float(period) * (period - 1) * 0.5
    sum_x_sqr = float(period) * (period - 1) * (2 * period - 1) / 6.0
    divisor = sum_x * sum_x - period * sum_x_sqr
    header = [float(period), *([0.0] * 6), float(REG_RESEED * period), sum_x, divisor]
    return [*header, *([0.0] * period)]


@jit
def linearreg_step(st: FloatArray, at: int, x: float) -> float:
    """One LINEARREG bar: the core's running sums, reseeds and trailing value.

    The first window is buffered, then summed oldest first (weights period-1 .. 0) as
    the C code's priming scan does.
    """
    s = st[at:]
    period = int(s[0])
    count = int(s[1])
    if count < period:
        s[10 + count] = x
        count += 1
        s[1] = count
        if count < period:
            return NAN
        sum_y = 0.0
        sum_xy = 0.0
        sum_abs = 0.0
        weight = float(period - 1)
        for j in range(period):
            value = s[10 + j]
            sum_y += value
            sum_xy += weight * value
            sum_abs += abs(value)
            weight -= 1.0
        s[2] = 0.0
        s[6] = s[10]
    else:
        pos = int(s[2])
        s[10 + pos] = x
        pos += 1
        if pos == period:
            pos = 0
        s[2] = pos
        trail = s[6]
        weighted = float(period) * trail
        sum_y = s[3]
        sum_xy = s[4] + sum_y - weighted
        sum_y = sum_y - trail + x
        sum_abs = s[5] - abs(trail) + abs(x)
        bars = s[7] - 1.0
        if bars <= 0.0 or abs(weighted) > 100.0 * sum_abs:
            bars = float(REG_RESEED * period)
            sum_y = 0.0
            sum_xy = 0.0
            sum_abs = 0.0
            weight = float(period - 1)
            for j in range(period):
                value = s[10 + (pos + j) % period]
                sum_y += value
                sum_xy += weight * value
                sum_abs += abs(value)
                weight -= 1.0
        s[7] = bars
        s[6] = s[10 + pos]
    s[3] = sum_y
    s[4] = sum_xy
    s[5] = sum_abs
    sum_x = s[8]
    m = (period * sum_xy - sum_x * sum_y) / s[9]
    b = (sum_y - m * sum_x) / float(period)
    return b + m * float(period - 1)  # type: ignore[no-any-return]


linearreg = implement("linearreg", globals())
linearreg_kernel = linearreg.kernel  # type: ignore[attr-defined]

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
        block_scan(high, low, close, beg, fastk_period, False, fastk)
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


def stoch_state(
    fastk_period: int,
    slowk_period: int,
    slowk_matype: int,
    slowd_period: int,
    slowd_matype: int,
    ema_unstable: int,
    kama_unstable: int,
    t3_unstable: int,
) -> list[float]:
    """Slow stochastic stream: ``[d_from, out_from, bar, slowk_at, slowd_at, window
    extremes, slowk MA, slowd MA]`` (bars counted from the first window bar)."""
    unstable = (ema_unstable, kama_unstable, t3_unstable)
    d_from = fastk_period - 1 + _declarations.ma_lookback(slowk_period, slowk_matype, *unstable)
    out_from = d_from + _declarations.ma_lookback(slowd_period, slowd_matype, *unstable)
    extremes = extremes_state(fastk_period)
    slowk = _ma.ma_state(slowk_period, slowk_matype, *unstable)
    slowk_at = _STOCH_EXTREMES + len(extremes)
    header = [float(d_from), float(out_from), 0.0, float(slowk_at)]
    header.append(float(slowk_at + len(slowk)))
    slowd = _ma.ma_state(slowd_period, slowd_matype, *unstable)
    return [*header, *extremes, *slowk, *slowd]


_STOCH_EXTREMES = 5


@jit
def stoch_step(
    st: FloatArray, at: int, high: float, low: float, close: float
) -> tuple[float, float]:
    """One slow-stochastic bar: window extremes -> %K (clamped) -> MA -> MA."""
    s = st[at:]
    ready, highest, lowest = extremes_step(st, at + _STOCH_EXTREMES, high, low)
    bar = s[2]
    if bar <= s[1]:
        s[2] = bar + 1.0
    if not ready:
        return NAN2
    slowk = _ma.ma_step(st, at + int(s[3]), extreme_value(highest, lowest, close, False))
    if bar < s[0]:
        return NAN2
    slowd = _ma.ma_step(st, at + int(s[4]), slowk)
    if bar < s[1]:
        return NAN2
    return slowk, slowd


stoch = implement("stoch", globals())
