"""MoonLight indicators: TA-Lib-exact, Numba-compiled, batch + 2-D + streaming.

``moonlight.indicators.<name>(...)`` has TA-Lib's lower-case name, parameter names,
defaults, output order and warm-up NaN positions, so ``import moonlight.indicators as
talib`` works for the indicators both libraries have. Batch functions take 1-D arrays,
2-D ``(bars, series)`` arrays (every column independently) and pandas objects;
``moonlight.indicators.stream.<name>(*history, **params)`` builds an O(1) incremental
version, ``moonlight.indicators.batched.<name>(series, **params)`` the same for many
series updated in one call; ``moonlight.indicators.catalog()`` lists every indicator's
metadata.

Importing compiles nothing: kernels compile (or load from Numba's on-disk cache) on
their first call.
"""

from __future__ import annotations

from typing import Any

from moonlight.indicators import (  # noqa: F401  (each registers its indicators)
    beyond,
    candles,
    directional,
    momentum,
    overlap,
    volatility,
    volume,
)
from moonlight.indicators._define import (
    ALIASES,
    REGISTRY,
    get_threads,
    get_unstable_period,
    set_threads,
    set_unstable_period,
)
from moonlight.indicators._streams import BatchedStream, Stream

#: The indicator modules, each registering its indicators through ``_define.define``.
INDICATOR_MODULES: tuple[str, ...] = (
    "overlap",
    "momentum",
    "directional",
    "volatility",
    "volume",
    "candles",
    "beyond",
)

globals().update({name: ind.spec.batch for name, ind in REGISTRY.items()})
globals().update({alias: REGISTRY[name].spec.batch for alias, name in ALIASES.items()})

from moonlight.indicators import batched, stream  # noqa: E402  (need the registry filled)
from moonlight.indicators.catalog import catalog  # noqa: E402

__all__ = [
    "BatchedStream",
    "Stream",
    "batched",
    "catalog",
    "get_threads",
    "get_unstable_period",
    "set_threads",
    "set_unstable_period",
    "stream",
    *REGISTRY,
    *ALIASES,
]


def __getattr__(name: str) -> Any:
    """Indicators registered after import (late modules) are still reachable by name."""
    if name in REGISTRY or name in ALIASES:
        return REGISTRY[ALIASES.get(name, name)].spec.batch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
