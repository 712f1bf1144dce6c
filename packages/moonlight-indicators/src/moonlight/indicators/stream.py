"""Streaming indicators: ``moonlight.indicators.stream.<name>(*history, **params)``.

Each factory has the batch function's parameters (keyword or positional after the
optional history arrays) and returns a :class:`~moonlight.indicators.Stream` whose
``update(*bar)`` takes one bar of the same inputs as floats and returns that bar's
output -- the same value the batch function gives at that bar, NaN warm-up included.
``state()`` / ``from_state()`` (or pickling) persist a stream across restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from moonlight.indicators._define import ALIASES, REGISTRY, Stream


def from_state(state: Mapping[str, Any]) -> Stream:
    """Rebuild any stream from the dict its ``state()`` returned."""
    return Stream.from_state(state)


def _factories() -> dict[str, Callable[..., Stream]]:
    found = {name: ind.spec.stream for name, ind in REGISTRY.items()}
    found.update({alias: REGISTRY[name].spec.stream for alias, name in ALIASES.items()})
    return found


globals().update(_factories())


def __getattr__(name: str) -> Callable[..., Stream]:
    factories = _factories()
    if name in factories:
        return factories[name]
    raise AttributeError(f"no streaming indicator named {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_factories()])
