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

import numpy as np

from moonlight.indicators._jit import jit
from moonlight.indicators.volatility import fill_nan, first_valid4


@jit
def ha_kernel(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    unstable: int,
    haopen: np.ndarray,
    hahigh: np.ndarray,
    halow: np.ndarray,
    haclose: np.ndarray,
) -> None:
    """Heikin-Ashi candles (open, high, low, close); warm-up ``unstable`` bars."""
    n = open_.shape[0]
    if n == 0:
        return
    first = first_valid4(open_, high, low, close)
    start = first + unstable
    fill_nan(haopen, start)
    fill_nan(hahigh, start)
    fill_nan(halow, start)
    fill_nan(haclose, start)
    if start >= n:
        return
    ha_open = (open_[first] + close[first]) / 2.0
    ha_close = (open_[first] + high[first] + low[first] + close[first]) / 4.0
    for t in range(first + 1, start + 1):
        ha_open = (ha_open + ha_close) / 2.0
        ha_close = (open_[t] + high[t] + low[t] + close[t]) / 4.0
    t = start
    while True:
        hi = high[t]
        if ha_open > hi:
            hi = ha_open
        if ha_close > hi:
            hi = ha_close
        lo = low[t]
        if ha_open < lo:
            lo = ha_open
        if ha_close < lo:
            lo = ha_close
        haopen[t] = ha_open
        hahigh[t] = hi
        halow[t] = lo
        haclose[t] = ha_close
        t += 1
        if t >= n:
            break
        ha_open = (ha_open + ha_close) / 2.0
        ha_close = (open_[t] + high[t] + low[t] + close[t]) / 4.0
