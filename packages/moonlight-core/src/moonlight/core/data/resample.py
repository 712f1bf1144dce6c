"""Bars of a longer timeframe from bars of a shorter one.

A target bar covers ``[k·T, (k+1)·T)`` in epoch seconds (aligned like the engine's bar
closes); it takes the first open, the highest high, the lowest low, the last close and
the summed volume of the source bars inside it. A target bar with missing source bars
(a gap, the start or end of the data) is kept -- it is what a broker would show -- unless
``complete_only`` asks for full bars only. ``T`` must be a whole multiple of the source
timeframe, and the source must be in time order without duplicates (checked, not fixed).
"""

from __future__ import annotations

import numpy as np

from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.errors import DataError
from moonlight.core.timeframes import timeframe_seconds


def resample(
    series: CandleSeries, timeframe: str | int, *, complete_only: bool = False
) -> CandleSeries:
    """``series`` as bars of ``timeframe`` (``"5m"`` or seconds); see the module docstring."""
    target = timeframe if isinstance(timeframe, int) else timeframe_seconds(timeframe)
    source = series.timeframe_s
    if target == source:
        return series
    if target < source or target % source:
        raise DataError(
            f"cannot resample {source} s bars to {target} s: the target must be a whole"
            " multiple of the source timeframe"
        )
    series.require_ordered()
    if len(series) == 0:
        return CandleSeries.from_arrays(
            series.instrument, target, series.columns(), source=series.source
        )
    bucket = np.floor_divide(series.start_ts, target)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    counts = np.diff(np.r_[starts, bucket.size])
    ends = starts + counts - 1
    keep = counts == target // source if complete_only else np.ones(starts.size, dtype=bool)
    columns = {
        "start_ts": (bucket[starts] * target)[keep],
        "open": series.open[starts][keep],
        "high": np.maximum.reduceat(series.high, starts)[keep],
        "low": np.minimum.reduceat(series.low, starts)[keep],
        "close": series.close[ends][keep],
        "volume": np.add.reduceat(series.volume, starts)[keep],
    }
    return CandleSeries.from_arrays(series.instrument, target, columns, source=series.source)
