"""The entry-point module: registers ``ema_cross`` with MoonLight's plugin host."""

from __future__ import annotations

from moonlight.core.plugins import ComponentSpec, hookimpl
from moonlight_ema_plugin.strategy import EmaCross, EmaCrossParams


@hookimpl
def moonlight_register_strategies() -> list[ComponentSpec]:
    """Register ``ema_cross``: the factory gets the validated parameter model."""
    return [
        ComponentSpec(
            name=EmaCross.name,
            factory=EmaCross,
            summary=EmaCross.summary,
            config_model=EmaCrossParams,
        )
    ]
