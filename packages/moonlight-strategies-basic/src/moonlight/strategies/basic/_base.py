"""What every reference strategy shares: the indicator source and vectorised helpers.

The strategies read their indicators from ``moonlight.indicators`` directly (this
distribution depends on it), through :class:`CatalogIndicatorSource`, which serves the
catalogue's batch functions and stream factories by name. The vectorised helpers build
the (direction, strength, reason code) arrays the same way for every strategy: reason
code 1 is the strategy's up rule, 2 its down rule, 0 no signal.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from moonlight.core.plugins import IndicatorSpec
from moonlight.core.strategy.api import FloatArray, IndicatorArray, Strategy, StrategyParams
from moonlight.core.strategy.indicators import IndicatorStream

P = TypeVar("P", bound=StrategyParams)

#: Signal arrays as :meth:`Strategy.evaluate_arrays` returns them.
SignalArrays = tuple[npt.NDArray[np.int8], FloatArray, npt.NDArray[np.int16]]


class CatalogIndicatorSource:
    """Indicators straight from ``moonlight.indicators.catalog()`` (no plugin host)."""

    def __init__(self) -> None:
        from moonlight.indicators import catalog

        self._specs: dict[str, IndicatorSpec] = {}
        for spec in catalog():
            self._specs[spec.name] = spec
            for alias in spec.aliases:
                self._specs[alias] = spec

    def _spec(self, name: str) -> IndicatorSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise LookupError(f"moonlight.indicators has no indicator {name!r}") from None

    def inputs(self, name: str) -> tuple[str, ...]:
        return self._spec(name).inputs

    def batch(self, name: str, *inputs: FloatArray, **params: float | int) -> IndicatorArray:
        result: IndicatorArray = self._spec(name).batch(*inputs, **params)
        return result

    def stream(self, name: str, **params: float | int) -> IndicatorStream:
        stream: IndicatorStream = self._spec(name).stream(**params)
        return stream


@cache
def library_source() -> CatalogIndicatorSource:
    """The shared catalogue source (built on first use)."""
    return CatalogIndicatorSource()


class BasicStrategy(Strategy[P]):
    """Base of the reference strategies: indicators from ``moonlight.indicators``."""

    def default_indicator_source(self) -> CatalogIndicatorSource:
        return library_source()


def previous(values: FloatArray) -> FloatArray:
    """``values`` shifted one bar later (NaN first): what the streaming path remembers."""
    shifted = np.empty_like(values, dtype=np.float64)
    shifted[:1] = np.nan
    shifted[1:] = values[:-1]
    return shifted


def signals(
    up: npt.NDArray[np.bool_],
    down: npt.NDArray[np.bool_],
    up_strength: FloatArray,
    down_strength: FloatArray,
) -> SignalArrays:
    """Direction, strength and reason code from the up/down rules (up wins a tie)."""
    down = down & ~up
    direction = np.where(up, 1, np.where(down, -1, 0)).astype(np.int8)
    strength = np.where(up, up_strength, np.where(down, down_strength, 0.0))
    codes = np.where(up, 1, np.where(down, 2, 0)).astype(np.int16)
    return direction, strength.astype(np.float64), codes


def output(value: Any, index: int) -> FloatArray:
    """Output ``index`` of a multi-output indicator's batch result."""
    if not isinstance(value, tuple):
        raise TypeError("expected a multi-output indicator result")
    return np.asarray(value[index], np.float64)


def single(value: Any) -> FloatArray:
    """A single-output indicator's batch result as a float64 array."""
    if isinstance(value, tuple):
        raise TypeError("expected a single-output indicator result")
    return np.asarray(value, np.float64)
