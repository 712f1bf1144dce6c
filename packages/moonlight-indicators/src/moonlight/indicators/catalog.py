"""The indicator catalogue: metadata of every registered indicator, for people and tools.

``catalog()`` is what ``moonlight plugins`` shows and what the contract tests iterate:
each :class:`~moonlight.core.plugins.IndicatorSpec` names the inputs, the outputs, the
parameters with defaults and valid ranges, and the warm-up length as a function of the
parameters.
"""

from __future__ import annotations

from typing import Any

from moonlight.core.plugins import IndicatorSpec
from moonlight.indicators import load
from moonlight.indicators._declarations import DECLARATIONS
from moonlight.indicators._define import REGISTRY


def catalog() -> tuple[IndicatorSpec, ...]:
    """Every indicator's spec, in the order of the declarations (grouped by module)."""
    load()
    return tuple(REGISTRY[name].spec for name in DECLARATIONS)


def describe() -> list[dict[str, Any]]:
    """JSON-ready descriptions (``IndicatorSpec.describe()`` plus the group)."""
    return [{**spec.describe(), "group": spec.extra["group"]} for spec in catalog()]
