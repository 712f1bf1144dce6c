"""Build the plugin manager, load entry points one by one, and collect the registry.

The host is built by :func:`build_plugin_host`, never at import time. Loading is
defensive: a plugin that fails to import, reuses a plugin name, implements a hook that
does not exist (a misspelled ``moonlight_*`` function) or raises from a register hook
is recorded in :attr:`PluginHost.plugins` with its distribution and the reason, and
skipped; the rest load normally.

Operator switches (environment):

* ``MOONLIGHT_DISABLE_PLUGINS`` -- ``*`` (or ``all``) skips every entry-point plugin;
  a comma-separated list of plugin names skips those. Core built-ins always load.
* ``MOONLIGHT_TRACE_HOOKS`` -- ``1`` logs every hook call with plugin and duration.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy
from pydantic import BaseModel

from moonlight.core import __version__, hookspecs
from moonlight.core.plugins.markers import PROJECT
from moonlight.core.plugins.registry import ComponentKind, Registry
from moonlight.core.plugins.specs import ComponentSpec, IndicatorSpec

log = logging.getLogger("moonlight.plugins")

DISABLE_ENV = "MOONLIGHT_DISABLE_PLUGINS"
TRACE_ENV = "MOONLIGHT_TRACE_HOOKS"

#: Modules of moonlight-core that register built-in components through the same hooks.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "moonlight.core.risk.plugin",
    "moonlight.core.connectors.plugin",
    "moonlight.core.backtest.plugin",
)

_EXPECTED_TYPE: dict[ComponentKind, type] = {
    ComponentKind.INDICATOR: IndicatorSpec,
    ComponentKind.STRATEGY: ComponentSpec,
    ComponentKind.CONNECTOR: ComponentSpec,
    ComponentKind.SIZING_POLICY: ComponentSpec,
    ComponentKind.GUARD: ComponentSpec,
    ComponentKind.SERVICE: ComponentSpec,
}


class PluginStatus(StrEnum):
    LOADED = "loaded"
    BROKEN = "broken"
    DISABLED = "disabled"


@dataclass
class PluginInfo:
    """One plugin as the host saw it: where it came from and whether it loaded."""

    name: str
    distribution: str
    version: str
    module: str
    status: PluginStatus = PluginStatus.LOADED
    error: str | None = None
    builtin: bool = False

    def mark_broken(self, reason: str) -> None:
        self.status = PluginStatus.BROKEN
        self.error = reason
        log.error(
            "plugin %r from %s %s is broken and was skipped: %s",
            self.name,
            self.distribution,
            self.version,
            reason,
        )


@dataclass
class PluginHost:
    """The loaded plugin manager, what each plugin is, and what they registered."""

    manager: pluggy.PluginManager
    plugins: dict[str, PluginInfo]
    registry: Registry = field(default_factory=Registry)
    trace: bool = False

    def broken(self) -> list[PluginInfo]:
        """Plugins that failed to load, in load order."""
        return [p for p in self.plugins.values() if p.status is PluginStatus.BROKEN]

    def call_each(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Call every implementation of ``hook_name`` separately.

        Yields ``(plugin name, result)``; an implementation that raises yields the
        exception as its result, so the caller decides whether that breaks the plugin
        (registration) or is only logged (observers). As pluggy does, each
        implementation receives only the arguments it declares (a spec may grow new
        arguments without breaking plugins written against an older one).
        """
        hook = getattr(self.manager.hook, hook_name)
        for impl in hook.get_hookimpls():  # registration order
            started = time.perf_counter()
            try:
                result: Any = impl.function(*[kwargs[name] for name in impl.argnames])
            except Exception as exc:  # user code: isolate it
                result = exc
            if self.trace:
                log.info(
                    "hook %s -> plugin %s: %.3f ms%s",
                    hook_name,
                    impl.plugin_name,
                    (time.perf_counter() - started) * 1e3,
                    f" raised {result!r}" if isinstance(result, Exception) else "",
                )
            yield impl.plugin_name, result

    def notify(self, hook_name: str, **kwargs: Any) -> int:
        """Deliver an observer event to every plugin; returns how many raised."""
        failures = 0
        for plugin, result in self.call_each(hook_name, **kwargs):
            if isinstance(result, Exception):
                failures += 1
                log.error("plugin %r failed in %s: %r", plugin, hook_name, result)
        return failures

    def describe(self) -> list[dict[str, Any]]:
        """Every plugin with its distribution, version, status and registrations."""
        return [
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "module": info.module,
                "builtin": info.builtin,
                "status": info.status.value,
                "error": info.error,
                "provides": self.registry.provided_by(info.name),
            }
            for info in self.plugins.values()
        ]


def build_plugin_host(
    *,
    environ: Mapping[str, str] | None = None,
    extra_plugins: Sequence[tuple[str, object]] = (),
) -> PluginHost:
    """Create the plugin manager, load built-ins and entry points, build the registry.

    ``extra_plugins`` registers ``(name, plugin object)`` pairs directly, after the
    entry points (for tests and embedding applications).
    """
    env = os.environ if environ is None else environ
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(hookspecs)
    host = PluginHost(manager=manager, plugins={}, trace=env.get(TRACE_ENV, "") == "1")

    for module_name in BUILTIN_PLUGINS:
        name = module_name.removeprefix("moonlight.").removesuffix(".plugin")  # "core.risk"
        info = PluginInfo(name, "moonlight-core", __version__, module_name, builtin=True)
        _register(host, info, importlib.import_module(module_name))

    disabled = _disabled_names(env.get(DISABLE_ENV, ""))
    for entry_point in _entry_points():
        _load_entry_point(host, entry_point, disabled)

    for name, plugin in extra_plugins:
        info = PluginInfo(name, "(registered directly)", "", type(plugin).__module__)
        _register(host, info, plugin)

    _collect_registrations(host)
    return host


def _disabled_names(value: str) -> set[str] | None:
    """``None`` means every entry-point plugin is disabled."""
    value = value.strip()
    if value in {"*", "all", "1"}:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _entry_points() -> list[EntryPoint]:
    """Entry points of the group, deduplicated per (distribution, name), sorted."""
    seen: dict[tuple[str, str], EntryPoint] = {}
    for entry_point in entry_points(group=PROJECT):
        dist = entry_point.dist.name if entry_point.dist else "?"
        seen.setdefault((dist, entry_point.name), entry_point)
    return [seen[key] for key in sorted(seen, key=lambda k: (k[1], k[0]))]


def _load_entry_point(host: PluginHost, entry_point: EntryPoint, disabled: set[str] | None) -> None:
    dist = entry_point.dist
    info = PluginInfo(
        entry_point.name,
        dist.name if dist else "?",
        dist.version if dist else "?",
        entry_point.value,
    )
    if disabled is None or entry_point.name in disabled:
        info.status = PluginStatus.DISABLED
        host.plugins.setdefault(f"{info.name} ({info.distribution})", info)
        log.info("plugin %r from %s disabled by %s", info.name, info.distribution, DISABLE_ENV)
        return
    try:
        plugin = entry_point.load()
    except Exception as exc:  # a broken third-party import must not stop the others
        _record_broken(host, info, f"import failed: {type(exc).__name__}: {exc}")
        return
    _register(host, info, plugin)


def _record_broken(host: PluginHost, info: PluginInfo, reason: str) -> None:
    info.mark_broken(reason)
    key = info.name if info.name not in host.plugins else f"{info.name} ({info.distribution})"
    host.plugins[key] = info


def _register(host: PluginHost, info: PluginInfo, plugin: object) -> None:
    if info.name in host.plugins:
        other = host.plugins[info.name]
        _record_broken(
            host, info, f"plugin name {info.name!r} is already used by {other.distribution}"
        )
        return
    try:
        host.manager.register(plugin, name=info.name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        _record_broken(host, info, f"registration failed: {exc}")
        return
    try:
        host.manager.check_pending()
    except pluggy.PluginValidationError as exc:
        host.manager.unregister(plugin)
        _record_broken(host, info, f"implements a hook that does not exist: {exc}")
        return
    host.plugins[info.name] = info


def _collect_registrations(host: PluginHost) -> None:
    """Call each register hook per plugin; a plugin whose hook fails is dropped whole."""
    collected: dict[str, list[tuple[ComponentKind, str, Any]]] = {}
    failed: dict[str, str] = {}
    for kind in ComponentKind:
        for plugin, result in host.call_each(kind.hook_name):
            if plugin in failed:
                continue
            try:
                items = _validate_result(kind, result)
            except (TypeError, ValueError) as exc:
                failed[plugin] = f"{kind.hook_name} failed: {exc}"
                continue
            collected.setdefault(plugin, []).extend(items)
    for plugin, reason in failed.items():
        collected.pop(plugin, None)
        host.plugins[plugin].mark_broken(reason)
        host.manager.unregister(name=plugin)
    for plugin, items in collected.items():
        for kind, name, component in items:
            host.registry.add(kind, name, component, plugin)


def _validate_result(kind: ComponentKind, result: Any) -> list[tuple[ComponentKind, str, Any]]:
    items: list[tuple[ComponentKind, str, Any]] = []
    if isinstance(result, Exception):
        raise ValueError(f"{type(result).__name__}: {result}")
    if result is None:
        return []
    if kind is ComponentKind.CONFIG_MODEL:
        if not isinstance(result, Mapping):
            raise TypeError("must return a mapping of section name to pydantic model")
        for name, model in result.items():
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise TypeError(f"config model {name!r} is not a pydantic model class")
            items.append((kind, str(name), model))
        return items
    expected = _EXPECTED_TYPE[kind]
    for spec in result:
        if not isinstance(spec, expected):
            raise TypeError(f"returned {type(spec).__name__}, expected {expected.__name__}")
        items.append((kind, str(getattr(spec, "name")), spec))  # noqa: B009 -- typed as object
        for alias in getattr(spec, "aliases", ()):
            items.append((kind, alias, spec))
    return items
