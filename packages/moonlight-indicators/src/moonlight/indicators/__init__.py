"""MoonLight indicators: TA-Lib-exact, Numba-compiled, batch + 2-D + streaming.

``moonlight.indicators.<name>(...)`` has TA-Lib's lower-case name, parameter names,
defaults, output order and warm-up NaN positions, so ``import moonlight.indicators as
talib`` works for the indicators both libraries have. Batch functions take 1-D arrays,
2-D ``(bars, series)`` arrays (every column independently) and pandas objects;
``moonlight.indicators.stream.<name>(*history, **params)`` builds an O(1) incremental
version, ``moonlight.indicators.batched.<name>(series, **params)`` the same for many
series updated in one call; ``moonlight.indicators.catalog()`` lists every indicator's
metadata.

Importing the package loads only the table of declarations (:mod:`._declarations`);
the indicator modules (and Numba) are imported on the first use of anything else, and
even then nothing is compiled: kernels compile (or load from Numba's on-disk cache) on
their first call. So the plugin entry point (:mod:`.plugin`) can describe every
indicator without paying for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moonlight.indicators._declarations import (
    ALIASES,
    DECLARATIONS,
    get_unstable_period,
    set_unstable_period,
)

if TYPE_CHECKING:  # what load() puts here, for type checkers
    from moonlight.indicators import batched, stream
    from moonlight.indicators._define import get_threads, set_threads
    from moonlight.indicators._streams import BatchedStream, Stream
    from moonlight.indicators.catalog import catalog

#: The indicator modules, each implementing its group's declarations (``_define.implement``).
INDICATOR_MODULES: tuple[str, ...] = (
    "overlap",
    "momentum",
    "directional",
    "volatility",
    "volume",
    "candles",
    "beyond",
)

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
    *DECLARATIONS,
    *ALIASES,
]

_LOADED: list[bool] = []


def load() -> None:
    """Import the indicator modules and expose every batch function here (idempotent).

    Called on the first attribute of the package that is not in the table, and by
    :mod:`.stream`, :mod:`.batched` and :mod:`.catalog` before they read the registry.
    """
    if _LOADED:
        return
    # Named here, not looped over INDICATOR_MODULES, so that bundlers (PyInstaller) see them.
    from moonlight.indicators import (  # noqa: F401  (each implements its declarations)
        beyond,
        candles,
        directional,
        momentum,
        overlap,
        volatility,
        volume,
    )
    from moonlight.indicators._define import REGISTRY, get_threads, set_threads
    from moonlight.indicators._streams import BatchedStream, Stream

    missing = sorted(set(DECLARATIONS) - set(REGISTRY))
    if missing:  # a declaration without a computation is a packaging error: say which
        raise ImportError(f"moonlight.indicators declares but does not implement {missing}")
    namespace = globals()
    namespace.update({name: ind.spec.batch for name, ind in REGISTRY.items()})
    namespace.update({alias: REGISTRY[name].spec.batch for alias, name in ALIASES.items()})
    namespace.update(
        BatchedStream=BatchedStream, Stream=Stream, get_threads=get_threads, set_threads=set_threads
    )
    _LOADED.append(True)
    from moonlight.indicators import batched, stream
    from moonlight.indicators.catalog import catalog

    namespace.update(batched=batched, stream=stream, catalog=catalog)


def __getattr__(name: str) -> Any:
    """Everything but the table is served after :func:`load`.

    Private names and the group modules are left to the import system (``from
    moonlight.indicators import _ma`` asks here first, then imports the submodule).
    """
    if name.startswith("_") or name in INDICATOR_MODULES or name == "plugin":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    load()
    if name in globals():
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
