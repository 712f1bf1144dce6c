"""The ``moonlight`` entry point of this distribution: registers every indicator.

The plugin host loads this module through ``[project.entry-points.moonlight]``; the
hook hands over the specs only -- no kernel is compiled or called at registration.
"""

from __future__ import annotations

from moonlight.core.plugins import IndicatorSpec, hookimpl
from moonlight.indicators.catalog import catalog


@hookimpl
def moonlight_register_indicators() -> list[IndicatorSpec]:
    """All of MoonLight's indicators, with their metadata."""
    return list(catalog())
