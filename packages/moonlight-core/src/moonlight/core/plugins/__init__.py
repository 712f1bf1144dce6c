"""The plugin host: pluggy markers, component specifications, loading and the registry.

Public names for plugin authors are :data:`hookimpl` and the ``*Spec`` component types;
the host side is :func:`build_plugin_host`.
"""

from moonlight.core.plugins.host import PluginHost, build_plugin_host
from moonlight.core.plugins.markers import PROJECT, hookimpl, hookspec
from moonlight.core.plugins.registry import ComponentKind, Registry
from moonlight.core.plugins.specs import (
    ComponentSpec,
    IndicatorSpec,
    ParamSpec,
)

__all__ = [
    "PROJECT",
    "ComponentKind",
    "ComponentSpec",
    "IndicatorSpec",
    "ParamSpec",
    "PluginHost",
    "Registry",
    "build_plugin_host",
    "hookimpl",
    "hookspec",
]
