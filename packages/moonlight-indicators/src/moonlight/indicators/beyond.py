"""Indicators TA-Lib does not have: ichimoku (Ichimoku Kinko Hyo) and anchored_vwap.

Both follow the package's conventions -- leading bars where any input is NaN are skipped,
every output is NaN during the warm-up, batch and stream agree bit for bit -- and both
define their behaviour on NaN mid-series themselves (documented per function), since
there is no TA-Lib reference to copy.

Ichimoku's stream keeps its state in two small numpy arrays and advances with one jitted
step (the very function the batch kernel loops over), which is what brings an update of
six rolling extremes and two displacement buffers under a microsecond.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.indicators._define import implement
from moonlight.indicators._jit import jit
from moonlight.indicators._kernels import begin3, fill_nan, py_func

FloatArray = npt.NDArray[np.float64]

NAN = math.nan

# ---------------------------------------------------------------------------------------------
# ichimoku
# ---------------------------------------------------------------------------------------------
# State layout, one float64 array (bar numbers and offsets are whole floats), built by
# ``ichimoku_init``:
#   [0..4]   tenkanperiod, kijunperiod, senkouperiod, displacement, lookback
#   [5]      bars seen since the first valid bar (t of the next bar)
#   [6]      last bar with a NaN high or low (-1: none)
#   [7..18]  head and size of the six deques: tenkan max/min, kijun max/min, senkou max/min
#   [19..24] offset of each deque's bar-number ring (capacity = window + 1)
#   [25..30] offset of each deque's value ring
#   [31, 32] offsets of the senkou A and senkou B displacement rings
_HEADER = 33
_WINDOW_OF_DEQUE = (0, 0, 1, 1, 2, 2)  # deque j watches window s[_WINDOW_OF_DEQUE[j]]


@jit
def ichimoku_size(tenkanperiod: int, kijunperiod: int, senkouperiod: int, displacement: int) -> int:
    """Length of the Ichimoku state: the header, two rings per deque, two span rings."""
    return _HEADER + 4 * (tenkanperiod + kijunperiod + senkouperiod + 3) + 2 * displacement


@jit
def ichimoku_init(
    s: FloatArray, tenkanperiod: int, kijunperiod: int, senkouperiod: int, displacement: int
) -> None:
    """Write a fresh Ichimoku state into ``s`` (see the layout above)."""
    windows = (tenkanperiod, kijunperiod, senkouperiod)
    s[:] = 0.0
    s[0] = tenkanperiod
    s[1] = kijunperiod
    s[2] = senkouperiod
    s[3] = displacement
    s[4] = max(tenkanperiod, max(kijunperiod, senkouperiod)) - 1 + displacement
    s[6] = -1.0
    offset = _HEADER
    for j in range(6):
        cap = windows[_WINDOW_OF_DEQUE[j]] + 1
        s[19 + j] = offset
        s[25 + j] = offset + cap
        offset += 2 * cap
    s[31] = offset
    s[32] = offset + displacement
    s[offset:] = NAN


def ichimoku_state(
    tenkanperiod: int = 9, kijunperiod: int = 26, senkouperiod: int = 52, displacement: int = 26
) -> list[float]:
    """A fresh Ichimoku stream state (see the layout above)."""
    periods = (tenkanperiod, kijunperiod, senkouperiod, displacement)
    state = np.empty(py_func(ichimoku_size)(*periods))
    py_func(ichimoku_init)(state, *periods)
    return list(state)


@jit
def _deque_push(s: FloatArray, j: int, t: int, value: float, is_max: bool) -> float:
    """Push bar ``t`` (NaN skipped) into deque ``j``, drop the expired bar, return its extreme.

    Returns NaN when no non-NaN bar is left in the window (only while the window is all
    NaN, a case the caller reports as NaN anyway).
    """
    window = int(s[_WINDOW_OF_DEQUE[j]])
    cap = window + 1
    head = int(s[7 + 2 * j])
    size = int(s[8 + 2 * j])
    bars = int(s[19 + j])
    values = int(s[25 + j])
    if value == value:
        while size > 0:
            back = head + size - 1
            if back >= cap:
                back -= cap
            worse = s[values + back] <= value if is_max else s[values + back] >= value
            if worse:
                size -= 1
            else:
                break
        slot = head + size
        if slot >= cap:
            slot -= cap
        s[bars + slot] = t
        s[values + slot] = value
        size += 1
    if size > 0 and s[bars + head] <= t - window:
        head += 1
        if head == cap:
            head = 0
        size -= 1
    s[7 + 2 * j] = head
    s[8 + 2 * j] = size
    if size == 0:
        return NAN
    return s[values + head]  # type: ignore[no-any-return]


@jit
def ichimoku_step(
    st: FloatArray, at: int, high: float, low: float, close: float
) -> tuple[float, float, float, float, float]:
    """Advance the Ichimoku state by one bar; return (tenkan, kijun, senkou_a, senkou_b, chikou).

    The batch kernel calls this for every bar and the stream for every update, so the two
    are the same computation.
    """
    s = st[at:]
    t = int(s[5])
    s[5] = t + 1
    if high != high or low != low:
        s[6] = t
    last_nan = s[6]
    hi_t = _deque_push(s, 0, t, high, True)
    lo_t = _deque_push(s, 1, t, low, False)
    hi_k = _deque_push(s, 2, t, high, True)
    lo_k = _deque_push(s, 3, t, low, False)
    hi_s = _deque_push(s, 4, t, high, True)
    lo_s = _deque_push(s, 5, t, low, False)
    tenkan = NAN
    if t >= s[0] - 1 and last_nan <= t - s[0]:
        tenkan = (hi_t + lo_t) / 2.0
    kijun = NAN
    if t >= s[1] - 1 and last_nan <= t - s[1]:
        kijun = (hi_k + lo_k) / 2.0
    span_b = NAN
    if t >= s[2] - 1 and last_nan <= t - s[2]:
        span_b = (hi_s + lo_s) / 2.0
    span_a = (tenkan + kijun) / 2.0
    displacement = int(s[3])
    if displacement > 0:
        slot = t % displacement
        ring_a = int(s[31]) + slot
        ring_b = int(s[32]) + slot
        senkou_a = s[ring_a]
        senkou_b = s[ring_b]
        s[ring_a] = span_a
        s[ring_b] = span_b
    else:
        senkou_a = span_a
        senkou_b = span_b
    if t < s[4]:
        return NAN, NAN, NAN, NAN, NAN
    return tenkan, kijun, senkou_a, senkou_b, close


@jit
def ichimoku_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    tenkanperiod: int,
    kijunperiod: int,
    senkouperiod: int,
    displacement: int,
    tenkan: FloatArray,
    kijun: FloatArray,
    senkou_a: FloatArray,
    senkou_b: FloatArray,
    chikou: FloatArray,
) -> None:
    """Ichimoku Kinko Hyo lines, every output aligned on the bar where it becomes known.

    See :data:`ichimoku` for the formulas and the displacement convention.
    """
    n = high.shape[0]
    if n == 0:
        return
    first = begin3(high, low, close)
    fill_nan(tenkan, first)
    fill_nan(kijun, first)
    fill_nan(senkou_a, first)
    fill_nan(senkou_b, first)
    fill_nan(chikou, first)
    state = np.empty(ichimoku_size(tenkanperiod, kijunperiod, senkouperiod, displacement))
    ichimoku_init(state, tenkanperiod, kijunperiod, senkouperiod, displacement)
    for t in range(first, n):
        a, b, c, d, e = ichimoku_step(state, 0, high[t], low[t], close[t])
        tenkan[t] = a
        kijun[t] = b
        senkou_a[t] = c
        senkou_b[t] = d
        chikou[t] = e


ichimoku = implement("ichimoku", globals())
ichimoku.__doc__ = """Ichimoku Kinko Hyo: five lines, each aligned on the bar where it is known.

With ``mid(n)[t] = (highest high + lowest low of the n bars ending at t) / 2`` and
``d = displacement``:

* ``tenkan[t]   = mid(tenkanperiod)[t]``   (conversion line, 9 by default)
* ``kijun[t]    = mid(kijunperiod)[t]``    (base line, 26)
* ``senkou_a[t] = (tenkan[t-d] + kijun[t-d]) / 2``  (leading span A)
* ``senkou_b[t] = mid(senkouperiod)[t-d]``          (leading span B, 52)
* ``chikou[t]   = close[t]``               (lagging span)

Displacement convention (documented because charting packages differ): the leading spans
are the values computed ``d`` bars earlier -- the cloud a chart draws *at* bar ``t`` -- as in
StockCharts and backtrader (``senkou_span_a(-26)``); TradingView draws them ``d - 1`` bars
ahead, so pass ``displacement=25`` to reproduce its chart. The lagging span is the close,
which a chart draws ``d`` bars back: ``chikou[t]`` is the bar's close, known at ``t``, and the
classic chikou signal compares it with ``close[t-d]`` and the cloud ``d`` bars back.
Nothing looks ahead, so the stream gives the same values bar by bar.

Warm-up: as TA-Lib's multi-output functions do, every output starts on the same bar, the
first with a complete cloud: ``max(tenkanperiod, kijunperiod, senkouperiod) - 1 +
displacement`` bars after the first valid bar (77 with the defaults).

NaN mid-series: a window containing a NaN high or low gives NaN for its line (tenkan,
kijun, senkou B source) until the NaN leaves the window; the spans inherit NaN through
the displacement; chikou is NaN exactly where the close is.

Parameters: tenkanperiod=9, kijunperiod=26, senkouperiod=52 (each >= 1), displacement=26
(>= 0; 0 gives the unshifted spans). Outputs: (tenkan, kijun, senkou_a, senkou_b, chikou).
Source: Hosoda Goichi's Ichimoku Kinko Hyo (1969), as described by StockCharts'
ChartSchool "Ichimoku Cloud".
"""

# ---------------------------------------------------------------------------------------------
# anchored_vwap
# ---------------------------------------------------------------------------------------------

#: ``anchor`` values of :data:`anchored_vwap`.
ANCHOR_SESSION = 0
ANCHOR_DAY = 1
ANCHOR_WEEK = 2

_DAY_S = 86400.0
_WEEK_S = 604800.0
#: 1970-01-05 00:00 UTC, the first Monday after the epoch: weeks start on Monday.
_MONDAY_S = 4 * 86400.0


@jit
def _begin5(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, e: FloatArray) -> int:
    """First bar where none of the five inputs is NaN; the last bar if there is none."""
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i] and c[i] == c[i] and d[i] == d[i] and e[i] == e[i]:
            return i
    return int(n - 1)


@jit
def _period_key(timestamp: float, anchor: int, offset_s: float) -> float:
    """The day or week number (as a float) of ``timestamp`` for the day/week anchors."""
    if anchor == 2:
        return math.floor((timestamp - offset_s - _MONDAY_S) / _WEEK_S)
    return math.floor((timestamp - offset_s) / _DAY_S)


@jit
def anchored_vwap_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    timestamp: FloatArray,
    anchor: int,
    offset_s: float,
    gap_s: float,
    out: FloatArray,
) -> None:
    """VWAP that restarts at every session, day or week boundary (see :data:`anchored_vwap`)."""
    n = high.shape[0]
    if n == 0:
        return
    first = _begin5(high, low, close, volume, timestamp)
    fill_nan(out, first)
    sum_pv = 0.0
    sum_v = 0.0
    key = NAN
    prev_ts = NAN
    for i in range(first, n):
        ts = timestamp[i]
        if math.isfinite(ts):
            if anchor == 0:
                if not (ts - prev_ts <= gap_s):
                    sum_pv = 0.0
                    sum_v = 0.0
                prev_ts = ts
            else:
                new_key = _period_key(ts, anchor, offset_s)
                if new_key != key:
                    sum_pv = 0.0
                    sum_v = 0.0
                    key = new_key
        typical = (high[i] + low[i] + close[i]) / 3.0
        vol = volume[i]
        pv = typical * vol
        if math.isfinite(typical) and math.isfinite(vol):
            sum_pv += pv
            sum_v += vol
        out[i] = sum_pv / sum_v if sum_v > 0.0 else NAN


def anchored_vwap_state(
    anchor: int = 1, offset_s: float = 0.0, gap_s: float = 3600.0
) -> list[float]:
    """Anchored VWAP stream: ``[anchor, offset_s, gap_s, period key, previous timestamp,
    sum_pv, sum_v]``."""
    return [float(anchor), offset_s, gap_s, NAN, NAN, 0.0, 0.0]


@jit
def anchored_vwap_step(
    st: FloatArray,
    at: int,
    high: float,
    low: float,
    close: float,
    volume: float,
    timestamp: float,
) -> float:
    """One anchored-VWAP bar: the two running sums, reset when the anchor period changes."""
    s = st[at:]
    if math.isfinite(timestamp):
        anchor = int(s[0])
        if anchor == 0:
            if not (timestamp - s[4] <= s[2]):
                s[5] = 0.0
                s[6] = 0.0
            s[4] = timestamp
        else:
            key = _period_key(timestamp, anchor, s[1])
            if key != s[3]:
                s[5] = 0.0
                s[6] = 0.0
                s[3] = key
    typical = (high + low + close) / 3.0
    pv = typical * volume
    if math.isfinite(typical) and math.isfinite(volume):
        s[5] += pv
        s[6] += volume
    sum_v = s[6]
    return s[5] / sum_v if sum_v > 0.0 else NAN


_WEEK_LIMIT_S = 7 * 86400.0

anchored_vwap = implement("anchored_vwap", globals())
anchored_vwap.__doc__ = """Anchored VWAP: the volume-weighted average typical price since an anchor.

``VWAP[t] = sum(tp * volume) / sum(volume)`` over the bars of the current anchor period up
to ``t``, with ``tp = (high + low + close) / 3`` (TA-Lib's typical price), restarting at
the first bar of every period:

* ``anchor=1`` (``ANCHOR_DAY``, default): a new period when the UTC day of
  ``timestamp - offset_s`` changes -- ``offset_s`` moves the day start, e.g.
  ``offset_s=79200`` starts FX days at 22:00 UTC (17:00 New York in winter);
* ``anchor=2`` (``ANCHOR_WEEK``): a new period each Monday 00:00 UTC (+ ``offset_s``);
* ``anchor=0`` (``ANCHOR_SESSION``): a new period after every gap of more than ``gap_s``
  seconds between consecutive bars (3600 by default) -- sessions found from the data, so
  an exchange's overnight close or FX's weekend starts a new one with no calendar.

Timestamps: the ``timestamp`` input is seconds since 1970-01-01 UTC as numbers (float64
holds whole seconds exactly); convert a pandas ``DatetimeIndex`` or a ``datetime64``
array with :func:`epoch_seconds`. Fixed offsets do not follow daylight-saving changes.

Zero volume: while a period has traded no volume the VWAP is undefined and the output is
NaN (TA-Lib's cumulative ``vwap`` carries 0.0 instead); a bar with a non-finite price or
volume is left out of both sums, as TA-Lib's vwap does. A non-finite timestamp keeps the
current period. Leading bars with any NaN input are skipped; there is no other warm-up.

Parameters: anchor=1 (0 session, 1 day, 2 week), offset_s=0.0 (within +-7 days),
gap_s=3600.0 (session anchor only). Source: Brian Shannon's anchored VWAP
("Maximum Trading Gains With Anchored VWAP", 2023) with the usual session/day/week
anchors; typical price and the handling of non-finite bars as in TA-Lib 0.8's VWAP.
"""


def epoch_seconds(times: object) -> FloatArray:
    """Seconds since 1970-01-01 UTC as float64, from datetimes or numbers.

    Accepts a pandas ``DatetimeIndex``/``Series`` of datetimes (time-zone aware ones are
    converted to UTC, naive ones are taken as UTC), a numpy ``datetime64`` array, or
    numbers already in seconds (returned as float64). ``NaT`` becomes NaN. Whole seconds
    come out exact.
    """
    pd = sys.modules.get("pandas")  # a pandas object implies pandas is already imported
    labels: Any = times
    if pd is not None and isinstance(labels, pd.Index | pd.Series):
        if isinstance(labels.dtype, pd.DatetimeTZDtype):
            if isinstance(labels, pd.Index):
                labels = labels.tz_convert(None)
            else:
                labels = labels.dt.tz_convert(None)
        array = np.asarray(labels.to_numpy())
    else:
        array = np.asarray(labels)
    if array.dtype.kind == "M":
        nanoseconds = array.astype("datetime64[ns]").astype(np.int64)
        whole, fraction = np.divmod(nanoseconds, 1_000_000_000)
        seconds = whole.astype(np.float64) + fraction.astype(np.float64) / 1e9
        seconds[np.isnat(array)] = NAN
        return seconds
    if array.dtype.kind not in "iuf":
        raise ValueError(f"times: expected datetimes or numbers of seconds, got {array.dtype}")
    converted: FloatArray = np.asarray(array, dtype=np.float64)
    return converted
