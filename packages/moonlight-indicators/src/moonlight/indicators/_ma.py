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

import numpy as np
import numpy.typing as npt

from moonlight.indicators._define import Stream
from moonlight.indicators._jit import jit

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


def check_matype(name: str, matype: int) -> None:
    """Refuse MAMA (code 7): MoonLight does not implement the MESA adaptive average."""
    if matype == MA_MAMA:
        raise ValueError(f"{name}=7 (MAMA) is not supported by moonlight.indicators; use 0..6 or 8")


# ---------------------------------------------------------------------------------------
# SMA
# ---------------------------------------------------------------------------------------


def sma_lookback(timeperiod: int) -> int:
    return timeperiod - 1


@jit
def sma_core(x: FloatArray, start: int, end: int, period: int, out: FloatArray) -> tuple[int, int]:
    """TA-Lib ``TA_INT_SMA``: running sum, trailing value removed after each output."""
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
        period = self._period
        buf = self._buf
        pos = self._pos
        buf[pos] = real
        pos += 1
        if pos == period:
            pos = 0
        self._pos = pos
        total = self._total + real
        if self._count < period - 1:
            self._count += 1
            self._total = total
            return NAN
        # buf[pos] now holds the bar period-1 bars back: TA-Lib's trailing value.
        self._total = total - buf[pos]
        return total / period


# ---------------------------------------------------------------------------------------
# EMA
# ---------------------------------------------------------------------------------------


def ema_lookback(timeperiod: int, unstable: int = 0) -> int:
    return timeperiod - 1 + unstable


@jit
def ema_core(
    x: FloatArray, start: int, end: int, period: int, k: float, unstable: int, out: FloatArray
) -> tuple[int, int]:
    """TA-Lib ``TA_INT_EMA``: seeded with the SMA of the first ``period`` bars.

    ``unstable`` is TA-Lib's EMA unstable period: the seed stays where it is and the
    first ``unstable`` values are computed but not written.
    """
    lookback = period - 1 + unstable
    if start < lookback:
        start = lookback
    if start > end:
        return 0, 0
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


class EmaStream(Stream):
    """Incremental EMA: SMA seed over the first ``period`` bars, then ``(x-prev)*k+prev``.

    ``unstable`` values after the seed are computed but reported as NaN (TA-Lib's EMA
    unstable period).
    """

    __slots__ = ("_count", "_hidden", "_k", "_period", "_prev")

    def __init__(self, timeperiod: int, unstable: int = 0, k: float | None = None) -> None:
        self._period = timeperiod
        self._k = 2.0 / (timeperiod + 1) if k is None else k
        self._hidden = unstable
        self._count = 0
        self._prev = 0.0

    def update(self, real: float) -> float:
        if self._count >= self._period:
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
        return prev
