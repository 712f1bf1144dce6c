"""Candle transforms: ha (Heikin-Ashi), alias heikin_ashi.

Heikin-Ashi, as TA-Lib 0.8.2 (C library 0.8.1) computes it:

* ``haclose = (((open + high) + low) + close) / 4`` (that summation order);
* ``haopen = (prev haopen + prev haclose) / 2``, seeded with ``(open + close) / 2`` on the
  first bar;
* ``hahigh = max(high, haopen, haclose)`` and ``halow = min(low, haopen, haclose)`` with
  plain comparisons (so a NaN high stays NaN and signed zeros keep TA-Lib's bytes).

The opens of two runs started on different bars converge by half each bar; TA-Lib's
unstable-period setting for HA (``unstable`` here) withholds that many bars before the first
output. Its default is 0: the first bar is output.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import prange

from moonlight.indicators._define import Stream, define
from moonlight.indicators._jit import jit, parallel_jit
from moonlight.indicators._kernels import begin4, fill_nan

FloatArray = npt.NDArray[np.float64]

NAN = math.nan


@jit
def ha_kernel(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    unstable: int,
    haopen: FloatArray,
    hahigh: FloatArray,
    halow: FloatArray,
    haclose: FloatArray,
) -> None:
    """Heikin-Ashi candles (open, high, low, close); warm-up ``unstable`` bars."""
    n = open_.shape[0]
    if n == 0:
        return
    first = begin4(open_, high, low, close)
    start = first + unstable
    fill_nan(haopen, start)
    fill_nan(hahigh, start)
    fill_nan(halow, start)
    fill_nan(haclose, start)
    if start >= n:
        return
    os_ = open_[first:]
    hs = high[first:]
    ls = low[first:]
    cs = close[first:]
    ha_open = (os_[0] + cs[0]) / 2.0
    ha_close = (os_[0] + hs[0] + ls[0] + cs[0]) / 4.0
    for i in range(1, unstable + 1):
        ha_open = (ha_open + ha_close) / 2.0
        ha_close = (os_[i] + hs[i] + ls[i] + cs[i]) / 4.0
    hos = haopen[start:]
    hhs = hahigh[start:]
    hls = halow[start:]
    hcs = haclose[start:]
    for i in range(n - start):
        if i > 0:
            k = unstable + i
            ha_open = (ha_open + ha_close) / 2.0
            ha_close = (os_[k] + hs[k] + ls[k] + cs[k]) / 4.0
        hi = hs[unstable + i]
        if ha_open > hi:
            hi = ha_open
        if ha_close > hi:
            hi = ha_close
        lo = ls[unstable + i]
        if ha_open < lo:
            lo = ha_open
        if ha_close < lo:
            lo = ha_close
        hos[i] = ha_open
        hhs[i] = hi
        hls[i] = lo
        hcs[i] = ha_close


@parallel_jit
def ha_kernel_2d(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    unstable: int,
    haopen: FloatArray,
    hahigh: FloatArray,
    halow: FloatArray,
    haclose: FloatArray,
) -> None:
    for j in prange(open_.shape[1]):
        ha_kernel(
            open_[:, j],
            high[:, j],
            low[:, j],
            close[:, j],
            unstable,
            haopen[:, j],
            hahigh[:, j],
            halow[:, j],
            haclose[:, j],
        )


class HaStream(Stream):
    """Incremental Heikin-Ashi: the previous HA open and close, as the kernel carries them."""

    __slots__ = ("_count", "_ha_close", "_ha_open", "_unstable")

    def __init__(self, unstable: int = 0) -> None:
        self._unstable = unstable
        self._count = 0
        self._ha_open = 0.0
        self._ha_close = 0.0

    def update(
        self, open: float, high: float, low: float, close: float
    ) -> tuple[float, float, float, float]:
        i = self._count
        ha_open = (open + close) / 2.0 if i == 0 else (self._ha_open + self._ha_close) / 2.0
        ha_close = (open + high + low + close) / 4.0
        self._ha_open = ha_open
        self._ha_close = ha_close
        if i < self._unstable:
            self._count = i + 1
            return NAN, NAN, NAN, NAN
        if i == 0:
            self._count = 1
        hi = high
        if ha_open > hi:
            hi = ha_open
        if ha_close > hi:
            hi = ha_close
        lo = low
        if ha_open < lo:
            lo = ha_open
        if ha_close < lo:
            lo = ha_close
        return ha_open, hi, lo, ha_close


ha = define(
    "ha",
    group="candles",
    summary="Heikin-Ashi candles",
    inputs=("open", "high", "low", "close"),
    outputs=("haopen", "hahigh", "halow", "haclose"),
    params=(),
    lookback=lambda unstable=0: unstable,
    kernel=ha_kernel,
    kernel_2d=ha_kernel_2d,
    stream=HaStream,
    aliases=("heikin_ashi",),
    unstable=("HA",),
    source="TA-Lib C 0.8.1 ta_HA.c via the ta-lib 0.8.2 Python wrapper",
)
