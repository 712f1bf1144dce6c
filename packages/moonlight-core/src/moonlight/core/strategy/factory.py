"""Build strategy objects from configuration entries and the plugin registry.

``strategies[].name`` names a registered strategy plugin; its ``params`` are validated
against the plugin's ``config_model`` and the validated model is passed to the plugin's
``factory`` (the hook contract of ``moonlight_register_strategies``). What comes back
must be a :class:`~moonlight.core.strategy.api.Strategy` of this core's interface
version; anything else fails here, at start-up, not on the first bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moonlight.core.config.models import StrategyConfig
from moonlight.core.plugins.registry import ComponentKind, Registry
from moonlight.core.plugins.specs import ComponentSpec
from moonlight.core.strategy.api import INTERFACE_VERSION, Strategy


class StrategyBuildError(ValueError):
    """A configured strategy could not be built (unknown, bad params, wrong type)."""


def build_strategy(entry: StrategyConfig, registry: Registry) -> Strategy[Any]:
    """The strategy object for one configuration entry."""
    try:
        spec = registry.get(ComponentKind.STRATEGY, entry.name)
    except LookupError as exc:
        raise StrategyBuildError(str(exc)) from None
    if not isinstance(spec, ComponentSpec):
        raise StrategyBuildError(f"strategy {entry.name!r} is not registered as a ComponentSpec")
    if spec.interface_version != INTERFACE_VERSION:
        raise StrategyBuildError(
            f"strategy {entry.name!r} implements interface_version {spec.interface_version};"
            f" this MoonLight core implements {INTERFACE_VERSION}"
        )
    try:
        params = spec.config_model.model_validate(entry.params) if spec.config_model else None
        strategy = spec.factory(params) if params is not None else spec.factory()
    except Exception as exc:  # plugin code: report which strategy failed and why
        raise StrategyBuildError(
            f"strategy {entry.name!r} could not be built: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(strategy, Strategy):
        raise StrategyBuildError(
            f"strategy {entry.name!r}: factory returned {type(strategy).__name__}, not a Strategy"
        )
    return strategy


def build_strategies(
    entries: Sequence[StrategyConfig], registry: Registry
) -> list[tuple[StrategyConfig, Strategy[Any]]]:
    """Every configured strategy, in configuration order, with its entry (weight)."""
    return [(entry, build_strategy(entry, registry)) for entry in entries]


def all_registered(registry: Registry) -> list[StrategyConfig]:
    """One entry with default parameters and weight 1 for every registered strategy that
    has defaults for all its parameters; one that needs a parameter (a learned strategy
    needs its model) is left out -- configure it to use it."""
    return [
        StrategyConfig(name=name)
        for name in registry.names(ComponentKind.STRATEGY)
        if _has_defaults(registry.get(ComponentKind.STRATEGY, name))
    ]


def _has_defaults(spec: object) -> bool:
    model = getattr(spec, "config_model", None)
    return model is None or not any(f.is_required() for f in model.model_fields.values())
