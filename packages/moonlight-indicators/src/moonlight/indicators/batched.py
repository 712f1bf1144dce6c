"""Streaming indicators for many series: ``moonlight.indicators.batched.<name>(series, **params)``.

Each factory takes the number of series, then the batch function's parameters, and
returns a :class:`~moonlight.indicators.BatchedStream`: the indicator's streaming state
for every series in one 2-D array, updated for all of them (or any subset) with one
call per bar -- arrays of one value per series in, arrays out::

    closes = batched.ema(120, timeperiod=21)
    ema = closes.update(close_of_each_series)            # 120 values in, 120 out
    ema_3 = closes.update(close_3, index=[4, 9, 17])     # only those series
    closes.warm(history_of_series_9, index=9)            # restart one series

Each series gives exactly what ``moonlight.indicators.stream.<name>`` gives for the
same bars. ``state()`` / ``from_state()`` (or pickling) persist the whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moonlight.indicators import load
from moonlight.indicators._define import factories, factory_lookup
from moonlight.indicators._streams import BatchedStream


def from_state(state: Mapping[str, Any]) -> BatchedStream:
    """Rebuild a batched stream from the dict its ``state()`` returned."""
    return BatchedStream.from_state(state)


load()
globals().update(factories("batched"))
__getattr__ = factory_lookup(__name__, "batched")


def __dir__() -> list[str]:
    return sorted([*globals(), *factories("batched")])
