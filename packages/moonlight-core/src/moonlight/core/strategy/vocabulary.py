"""The vocabulary a strategy and the indicator layer share: bars, indicator values and
the indicator a strategy needs.

A leaf module (it imports nothing of MoonLight): :mod:`~moonlight.core.strategy.api`
re-exports every name here as part of the strategy contract, and
:mod:`~moonlight.core.strategy.indicators` builds on it without importing the contract,
so the two never import each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
#: One indicator's value at one bar: a float, or a tuple in the indicator's output order.
IndicatorValue = float | tuple[float, ...]
#: One indicator over a history: an array, or a tuple of arrays in output order.
IndicatorArray = FloatArray | tuple[FloatArray, ...]

#: Column names a history frame must provide; ``volume`` may be all zeros.
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
#: The bar's open time in seconds since 1970-01-01 UTC (the connector ``Candle`` field).
TIME_COLUMN = "start_ts"


#: Indicator input names fed from a differently named bar column by default: a generic
#: price series gets the close, a timestamp the bar's open time in epoch seconds.
GENERIC_INPUTS: Mapping[str, str] = {"real": "close", "price": "close", "timestamp": TIME_COLUMN}


@dataclass(frozen=True, slots=True)
class IndicatorNeed:
    """One indicator a strategy reads: catalogue name, parameters and input columns.

    ``columns`` says which bar column feeds each of the indicator's inputs, in the
    indicator's input order; empty means the natural mapping (``high`` feeds ``high``,
    a generic ``real`` input gets the close). ``IndicatorNeed.of("sma", timeperiod=20,
    columns=("volume",))`` is a 20-bar average of volume.

    ``key`` (for example ``"ema(timeperiod=9)"``) is the canonical name under which the
    value appears in the ``indicators`` mapping on both paths; two strategies that need
    the same indicator with the same parameters and inputs share one computation.
    """

    name: str
    params: tuple[tuple[str, float | int], ...]
    key: str
    columns: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, name: str, *, columns: tuple[str, ...] = (), **params: float | int
    ) -> IndicatorNeed:
        """The need for indicator ``name`` with ``params`` (order does not matter)."""
        items = tuple(sorted(params.items()))
        described = ", ".join(f"{k}={v!r}" for k, v in items)
        on = f" on {'/'.join(columns)}" if columns else ""
        return cls(name=name, params=items, key=f"{name}({described}){on}", columns=columns)

    def kwargs(self) -> dict[str, float | int]:
        """The parameters as keyword arguments for the indicator function."""
        return dict(self.params)

    def input_columns(self, inputs: tuple[str, ...]) -> tuple[str, ...]:
        """The bar columns feeding an indicator whose input names are ``inputs``."""
        if self.columns:
            if len(self.columns) != len(inputs):
                raise ValueError(
                    f"{self.key}: {len(self.columns)} columns given for inputs {inputs}"
                )
            return self.columns
        return tuple(GENERIC_INPUTS.get(name, name) for name in inputs)


class BarLike(Protocol):
    """What the streaming path needs of a closed bar (a connector candle fits)."""

    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...
