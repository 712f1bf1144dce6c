"""The ``moonlight`` entry point of this distribution: registers every indicator.

The plugin host loads this module through ``[project.entry-points.moonlight]``. The specs
come from the table of declarations alone (:mod:`._declarations`): no kernel, no Numba,
so ``moonlight plugins`` lists the indicators without compiling or importing them. Each
spec's ``batch``/``stream`` imports :mod:`moonlight.indicators` on its first call and is
then the package's own function.
"""

from __future__ import annotations

from moonlight.core.plugins import IndicatorSpec, hookimpl
from moonlight.indicators._declarations import DECLARATIONS


@hookimpl
def moonlight_register_indicators() -> list[IndicatorSpec]:
    """All of MoonLight's indicators, with their metadata."""
    return [declaration.described() for declaration in DECLARATIONS.values()]
