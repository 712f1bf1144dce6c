"""Indicators for strategies, without core importing any indicator library.

A strategy names what it needs (:class:`~moonlight.core.strategy.api.IndicatorNeed`);
an :class:`IndicatorSource` computes it. The default source reads the indicator plugins
from the plugin registry (their :class:`~moonlight.core.plugins.IndicatorSpec` carries
the batch function, the stream factory and the input names), so core stays free of
``moonlight.indicators`` and any third-party indicator plugin works the same way.

:class:`IndicatorFeed` is the streaming side: one stream object per distinct need across
all strategies of a worker, updated once per closed bar, values published in one flat
mapping keyed by ``need.key``. :func:`compute_batch` is the vectorised side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from operator import attrgetter
from typing import Any, Protocol

import numpy as np

from moonlight.core.plugins.registry import ComponentKind, Registry
from moonlight.core.plugins.specs import IndicatorSpec
from moonlight.core.strategy.vocabulary import (
    BarLike,
    FloatArray,
    IndicatorArray,
    IndicatorNeed,
    IndicatorValue,
)


class IndicatorStream(Protocol):
    """A streaming indicator: ``update`` takes one bar of its inputs, returns its value."""

    def update(self, *inputs: float) -> Any: ...


class IndicatorSource(Protocol):
    """Something that can compute indicators by catalogue name."""

    def inputs(self, name: str) -> tuple[str, ...]:
        """Names of the price series the indicator takes, in call order."""
        ...

    def batch(self, name: str, *inputs: FloatArray, **params: float | int) -> IndicatorArray:
        """The indicator over whole arrays (tuple of arrays for several outputs)."""
        ...

    def stream(self, name: str, **params: float | int) -> IndicatorStream:
        """A fresh streaming instance with no history."""
        ...


class RegistryIndicatorSource:
    """Indicators provided by plugins, looked up in a plugin :class:`Registry`."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def _spec(self, name: str) -> IndicatorSpec:
        spec = self._registry.get(ComponentKind.INDICATOR, name)
        if not isinstance(spec, IndicatorSpec):
            raise TypeError(f"indicator {name!r} is registered as {type(spec).__name__}")
        return spec

    def inputs(self, name: str) -> tuple[str, ...]:
        return self._spec(name).inputs

    def batch(self, name: str, *inputs: FloatArray, **params: float | int) -> IndicatorArray:
        result: IndicatorArray = self._spec(name).batch(*inputs, **params)
        return result

    def stream(self, name: str, **params: float | int) -> IndicatorStream:
        stream: IndicatorStream = self._spec(name).stream(**params)
        return stream


@cache
def registry_indicator_source() -> RegistryIndicatorSource:
    """A source over the installed plugins (the plugin host is built once, on first use)."""
    from moonlight.core.plugins import build_plugin_host

    return RegistryIndicatorSource(build_plugin_host().registry)


def unique_needs(needs: Iterable[IndicatorNeed]) -> list[IndicatorNeed]:
    """``needs`` without repeats (same key), in first-seen order."""
    seen: dict[str, IndicatorNeed] = {}
    for need in needs:
        seen.setdefault(need.key, need)
    return list(seen.values())


def compute_batch(
    needs: Iterable[IndicatorNeed], prices: Mapping[str, FloatArray], source: IndicatorSource
) -> dict[str, IndicatorArray]:
    """Every need over a whole history, keyed by ``need.key`` (each computed once)."""
    values: dict[str, IndicatorArray] = {}
    for need in unique_needs(needs):
        try:
            columns = need.input_columns(source.inputs(need.name))
            inputs = [prices[column] for column in columns]
        except KeyError as exc:
            raise ValueError(f"indicator {need.key} needs input {exc.args[0]!r}") from None
        result = source.batch(need.name, *inputs, **need.kwargs())
        if isinstance(result, tuple):
            values[need.key] = tuple(np.asarray(r, np.float64) for r in result)
        else:
            values[need.key] = np.asarray(result, np.float64)
    return values


class IndicatorFeed:
    """Streaming indicators for one worker: each distinct need updated once per bar.

    ``update(bar)`` feeds the bar's columns to every stream and returns the shared
    mapping ``need.key -> value`` (the same dict object every bar, refreshed in place).
    ``stream.update`` is looked up on every bar, not cached: a stream may change its
    own class once its warm-up is over.
    """

    def __init__(self, needs: Iterable[IndicatorNeed], source: IndicatorSource) -> None:
        self.needs = unique_needs(needs)
        self.values: dict[str, IndicatorValue] = {}
        self.streams: dict[str, IndicatorStream] = {}
        self._steps: list[tuple[str, IndicatorStream, Callable[[BarLike], Any], bool]] = []
        for need in self.needs:
            columns = need.input_columns(source.inputs(need.name))
            stream = source.stream(need.name, **need.kwargs())
            self.streams[need.key] = stream
            self._steps.append((need.key, stream, attrgetter(*columns), len(columns) > 1))

    def update(self, bar: BarLike) -> dict[str, IndicatorValue]:
        """Advance every indicator by one closed bar; returns the values mapping."""
        values = self.values
        for key, stream, get, several in self._steps:
            values[key] = stream.update(*get(bar)) if several else stream.update(get(bar))
        return values
