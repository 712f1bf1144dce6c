"""The entry-point module: MoonLight imports it and calls its hook implementations."""

from __future__ import annotations

from moonlight.core.plugins import ComponentSpec, hookimpl
from moonlight_strategy_example.strategy import SmaTrend, SmaTrendParams


@hookimpl
def moonlight_register_strategies() -> list[ComponentSpec]:
    """Register ``sma_trend``: the factory gets the validated parameter model."""
    return [
        ComponentSpec(
            name=SmaTrend.name,
            factory=SmaTrend,
            summary=SmaTrend.summary,
            config_model=SmaTrendParams,
        )
    ]
