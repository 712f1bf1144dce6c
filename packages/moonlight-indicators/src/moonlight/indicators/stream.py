"""Streaming indicators: ``moonlight.indicators.stream.<name>(*history, **params)``.

Each factory has the batch function's parameters (keyword or positional after the
optional history arrays) and returns a :class:`~moonlight.indicators.Stream` whose
``update(*bar)`` takes one bar of the same inputs as floats and returns that bar's
output -- the same value the batch function gives at that bar, NaN warm-up included.
``state()`` / ``from_state()`` (or pickling) persist a stream across restarts. For many
series at once see :mod:`moonlight.indicators.batched`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moonlight.indicators import load
from moonlight.indicators._define import factories, factory_lookup
from moonlight.indicators._streams import Stream


def from_state(state: Mapping[str, Any]) -> Stream:
    """Rebuild any stream from the dict its ``state()`` returned."""
    return Stream.from_state(state)


load()
globals().update(factories("stream"))
__getattr__ = factory_lookup(__name__, "stream")


def __dir__() -> list[str]:
    return sorted([*globals(), *factories("stream")])
