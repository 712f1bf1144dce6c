"""The registry: every component the loaded plugins registered, by kind and name.

A name registered twice for the same kind is kept as a *conflict*: neither provider
wins silently, and asking for that name fails with both providers named.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from moonlight.core.plugins.specs import ComponentSpec, IndicatorSpec


class ComponentKind(StrEnum):
    """The kinds of component a plugin can register, each with its own register hook."""

    INDICATOR = "indicator"
    STRATEGY = "strategy"
    CONNECTOR = "connector"
    SIZING_POLICY = "sizing_policy"
    GUARD = "guard"
    SERVICE = "service"
    CONFIG_MODEL = "config_model"

    @property
    def hook_name(self) -> str:
        """The ``moonlight_register_*`` hook that collects this kind."""
        return f"moonlight_register_{_PLURALS[self]}"


_PLURALS = {
    ComponentKind.INDICATOR: "indicators",
    ComponentKind.STRATEGY: "strategies",
    ComponentKind.CONNECTOR: "connectors",
    ComponentKind.SIZING_POLICY: "sizing_policies",
    ComponentKind.GUARD: "guards",
    ComponentKind.SERVICE: "services",
    ComponentKind.CONFIG_MODEL: "config_models",
}


class ComponentLookupError(LookupError):
    """A configuration names a component that is missing or registered twice."""


@dataclass(frozen=True, slots=True)
class Registration:
    """One registered component and the plugin that provided it."""

    kind: ComponentKind
    name: str
    component: Any
    plugin: str


class Registry:
    """Components by kind and name, with conflicts remembered rather than overwritten."""

    def __init__(self) -> None:
        self._by_kind: dict[ComponentKind, dict[str, Registration]] = defaultdict(dict)
        self._conflicts: dict[tuple[ComponentKind, str], list[str]] = {}

    def add(self, kind: ComponentKind, name: str, component: Any, plugin: str) -> None:
        """Register ``component``; a second provider of the same name makes a conflict."""
        key = (kind, name)
        if key in self._conflicts:
            self._conflicts[key].append(plugin)
            return
        existing = self._by_kind[kind].pop(name, None)
        if existing is not None:
            self._conflicts[key] = [existing.plugin, plugin]
            return
        self._by_kind[kind][name] = Registration(kind, name, component, plugin)

    def get(self, kind: ComponentKind, name: str) -> Any:
        """The component registered as ``name``; raises ComponentLookupError otherwise."""
        registration = self._by_kind[kind].get(name)
        if registration is not None:
            return registration.component
        if (kind, name) in self._conflicts:
            providers = ", ".join(self._conflicts[(kind, name)])
            raise ComponentLookupError(
                f"{kind.value} {name!r} is registered by more than one plugin ({providers});"
                " uninstall or disable one of them (MOONLIGHT_DISABLE_PLUGINS)"
            )
        known = ", ".join(sorted(self._by_kind[kind])) or "none"
        raise ComponentLookupError(f"no plugin provides {kind.value} {name!r} (known: {known})")

    def names(self, kind: ComponentKind) -> list[str]:
        """Usable (non-conflicting) names of one kind, sorted."""
        return sorted(self._by_kind[kind])

    def registrations(self, kind: ComponentKind) -> list[Registration]:
        """Usable registrations of one kind, sorted by name."""
        return [self._by_kind[kind][name] for name in self.names(kind)]

    def conflicts(self) -> dict[tuple[ComponentKind, str], list[str]]:
        """Every (kind, name) registered more than once, with the providing plugins."""
        return {key: list(providers) for key, providers in self._conflicts.items()}

    def provided_by(self, plugin: str) -> dict[str, list[dict[str, Any]]]:
        """What one plugin registered, by kind, as JSON-ready descriptions."""
        described: dict[str, list[dict[str, Any]]] = {}
        for kind, registrations in self._by_kind.items():
            items = [_describe(r) for r in registrations.values() if r.plugin == plugin]
            if items:
                described[kind.value] = sorted(items, key=lambda item: str(item["name"]))
        for (kind, name), providers in self._conflicts.items():
            if plugin in providers:
                described.setdefault(kind.value, []).append(
                    {"name": name, "conflict_with": [p for p in providers if p != plugin]}
                )
        return described


def _describe(registration: Registration) -> dict[str, Any]:
    component = registration.component
    if isinstance(component, ComponentSpec | IndicatorSpec):
        if component.name != registration.name:
            return {"name": registration.name, "alias_of": component.name}
        return component.describe()
    if isinstance(component, type):  # config models are registered as classes
        return {"name": registration.name, "model": component.__qualname__}
    return {"name": registration.name}
