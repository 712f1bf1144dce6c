"""Declared, versioned features: indicator name + parameters + output + lags.

A :class:`FeatureSpec` is the contract between training and serving. It lists
:class:`FeatureDef` entries -- an indicator from the catalogue with its parameters, which
of its outputs, the lags to take (0 = the bar just closed) and whether to express the
value relative to the close (``value / close - 1``, for price-scaled indicators such as
moving averages, so a model trained on one price level works at another).

The same spec is computed two ways that agree bit for bit (a parity test checks it):

* :func:`batch_features` over a whole history, with the batch indicator functions
  (:func:`~moonlight.core.strategy.indicators.compute_batch`) -- datasets and training;
* :class:`FeatureStream` bar by bar, from the streaming indicator values the worker's
  :class:`~moonlight.core.strategy.indicators.IndicatorFeed` already computes -- serving.

Only IEEE-exact operations (a division and a subtraction) are applied on top of the
indicator values, so both paths give identical numbers. ``version`` is declared by the
author and stored with every model; :meth:`FeatureSpec.fingerprint` hashes the full
definition so a model can refuse a spec that changed under the same version.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.core.plugins.registry import ComponentKind
from moonlight.core.strategy.api import FloatArray, IndicatorArray, IndicatorNeed, IndicatorValue
from moonlight.core.strategy.indicators import (
    IndicatorSource,
    compute_batch,
    registry_indicator_source,
)


@dataclass(frozen=True, slots=True)
class FeatureDef:
    """One indicator output taken at one or more lags."""

    indicator: str
    params: Mapping[str, float | int] = field(default_factory=dict)
    output: int = 0
    lags: tuple[int, ...] = (0,)
    relative_to_close: bool = False

    def __post_init__(self) -> None:
        if not self.lags or any(lag < 0 for lag in self.lags):
            raise ValueError(f"{self.indicator}: lags must be non-negative, got {self.lags}")
        if self.output < 0:
            raise ValueError(f"{self.indicator}: output index must be >= 0")

    @property
    def need(self) -> IndicatorNeed:
        """The indicator need this feature reads (shared with strategies by key)."""
        params: dict[str, Any] = dict(self.params)
        return IndicatorNeed.of(self.indicator, **params)

    def column_names(self) -> list[str]:
        """One column name per lag, e.g. ``rsi(timeperiod=14)[0]@1``."""
        rel = "/close" if self.relative_to_close else ""
        return [f"{self.need.key}[{self.output}]{rel}@{lag}" for lag in self.lags]

    def to_dict(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "params": dict(sorted(self.params.items())),
            "output": self.output,
            "lags": list(self.lags),
            "relative_to_close": self.relative_to_close,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureDef:
        return cls(
            indicator=str(data["indicator"]),
            params=dict(data.get("params", {})),
            output=int(data.get("output", 0)),
            lags=tuple(int(lag) for lag in data.get("lags", (0,))),
            relative_to_close=bool(data.get("relative_to_close", False)),
        )


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """A named, versioned list of features; the model's input columns in order."""

    name: str
    version: int
    features: tuple[FeatureDef, ...]

    def __post_init__(self) -> None:
        if not self.features:
            raise ValueError(f"feature spec {self.name!r} declares no features")
        names = self.column_names()
        if len(set(names)) != len(names):
            raise ValueError(f"feature spec {self.name!r} declares a column twice")

    def needs(self) -> tuple[IndicatorNeed, ...]:
        return tuple(f.need for f in self.features)

    def column_names(self) -> list[str]:
        return [name for f in self.features for name in f.column_names()]

    @property
    def width(self) -> int:
        return sum(len(f.lags) for f in self.features)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "features": [f.to_dict() for f in self.features],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        try:
            return cls(
                name=str(data["name"]),
                version=int(data["version"]),
                features=tuple(FeatureDef.from_dict(f) for f in data["features"]),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"invalid feature spec: missing or wrong {error}") from None

    def fingerprint(self) -> str:
        """SHA-256 of the canonical definition (first 16 hex digits)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def warmup_bars(self) -> int:
        """Leading bars before every column is defined: indicator look-back + lag."""
        registry = _registry()
        longest = 0
        for f in self.features:
            spec: Any = registry.get(ComponentKind.INDICATOR, f.indicator)
            longest = max(longest, int(spec.warmup(**dict(f.params))) + max(f.lags))
        return longest


def _registry() -> Any:
    from moonlight.core.plugins import build_plugin_host

    return build_plugin_host().registry


#: The default spec: scale-free oscillators and trend measures on 1-minute bars.
DEFAULT_SPEC = FeatureSpec(
    name="oscillators",
    version=1,
    features=(
        FeatureDef("rsi", {"timeperiod": 7}, lags=(0, 1)),
        FeatureDef("rsi", {"timeperiod": 28}, lags=(0, 1)),
        FeatureDef("cci", {"timeperiod": 20}),
        FeatureDef("willr", {"timeperiod": 14}),
        FeatureDef("adx", {"timeperiod": 14}),
        FeatureDef("natr", {"timeperiod": 14}),
        FeatureDef("roc", {"timeperiod": 5}, lags=(0, 5)),
        FeatureDef("ema", {"timeperiod": 50}, relative_to_close=True),
    ),
)


def _output(value: IndicatorArray | IndicatorValue, index: int, key: str) -> Any:
    if isinstance(value, tuple):
        if index >= len(value):
            raise ValueError(f"{key} has {len(value)} outputs; feature asks for #{index}")
        return value[index]
    if index != 0:
        raise ValueError(f"{key} has one output; feature asks for #{index}")
    return value


def batch_features(
    spec: FeatureSpec,
    prices: Mapping[str, FloatArray],
    source: IndicatorSource | None = None,
    indicators: Mapping[str, IndicatorArray] | None = None,
) -> FloatArray:
    """The (bars × columns) feature matrix over a whole history (NaN while undefined)."""
    if indicators is None:
        indicators = compute_batch(spec.needs(), prices, source or registry_indicator_source())
    close = prices["close"]
    bars = close.shape[0]
    matrix = np.full((bars, spec.width), np.nan)
    column = 0
    for f in spec.features:
        values = np.asarray(_output(indicators[f.need.key], f.output, f.need.key), np.float64)
        if f.relative_to_close:
            values = values / close - 1.0
        for lag in f.lags:
            matrix[lag:, column] = values[: bars - lag] if lag else values
            column += 1
    return matrix


class FeatureStream:
    """The same features bar by bar, from the streaming indicator values.

    ``row(close, indicators)`` is called once per closed bar, in order, with the values
    mapping of the worker's indicator feed; it returns this bar's feature row (NaN while
    an indicator or a lag is not yet defined) as a plain list: the learned strategy
    stacks the rows of every worker due at an instant into one matrix, and a list of
    floats is cheaper to build and to stack than a small array per worker. The
    arithmetic is the batch path's (``value / close - 1.0`` in IEEE double), so the rows
    are equal bit for bit. :meth:`reset` forgets the lag history.
    """

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self._plan: list[tuple[str, int, bool, tuple[int, ...], deque[float] | None]] = []
        self.reset()

    def reset(self) -> None:
        # per feature: key, output, relative, lags, and the lag history (None when the
        # feature is only read at lag 0, the usual case: no history to keep)
        self._plan = [
            (
                f.need.key,
                f.output,
                f.relative_to_close,
                f.lags,
                None
                if f.lags == (0,)
                else deque([math.nan] * (max(f.lags) + 1), maxlen=max(f.lags) + 1),
            )
            for f in self.spec.features
        ]

    def row(self, close: float, indicators: Mapping[str, IndicatorValue]) -> list[float]:
        out: list[float] = []
        for key, output, relative, lags, history in self._plan:
            raw = indicators[key]
            value = raw if type(raw) is float and not output else float(_output(raw, output, key))
            if relative:
                value = value / close - 1.0
            if history is None:
                out.append(value)
            else:
                history.appendleft(value)
                out.extend([history[lag] for lag in lags])
        return out


def complete_rows(matrix: FloatArray) -> npt.NDArray[np.bool_]:
    """True where every feature of the row is finite (the row can be scored)."""
    return np.asarray(np.all(np.isfinite(matrix), axis=1), np.bool_)
