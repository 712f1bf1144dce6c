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

from moonlight.indicators._define import implement
from moonlight.indicators._jit import jit
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


def ha_state(unstable: int = 0) -> list[float]:
    """Heikin-Ashi stream: ``[unstable, count, previous haopen, previous haclose]``."""
    return [float(unstable), 0.0, 0.0, 0.0]


@jit
def ha_step(
    st: FloatArray, at: int, open: float, high: float, low: float, close: float
) -> tuple[float, float, float, float]:
    """One Heikin-Ashi candle from the previous HA open and close, as the kernel carries them."""
    s = st[at:]
    i = s[1]
    ha_open = (open + close) / 2.0 if i == 0.0 else (s[2] + s[3]) / 2.0
    ha_close = (open + high + low + close) / 4.0
    s[2] = ha_open
    s[3] = ha_close
    if i < s[0]:
        s[1] = i + 1.0
        return NAN, NAN, NAN, NAN
    if i == 0.0:
        s[1] = 1.0
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


ha = implement("ha", globals())
