"""What a plugin registers: small, frozen descriptions of components.

A plugin never hands the host a live object at registration time; it hands a spec whose
``factory`` the host calls when the configuration asks for that component. That keeps
start-up cheap (nothing is built that the config does not use) and lets
``moonlight plugins`` describe everything without side effects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """A named, configurable component: a strategy, connector, sizing policy or guard.

    ``factory`` builds the component; it receives the validated instance of
    ``config_model`` (or nothing when ``config_model`` is None) plus keyword arguments
    the host documents per kind. ``summary`` is the one-line description shown by
    ``moonlight plugins``.
    """

    name: str
    factory: Callable[..., Any]
    summary: str
    config_model: type[BaseModel] | None = None
    interface_version: int = 1

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for ``moonlight plugins --json``."""
        described: dict[str, Any] = {"name": self.name, "summary": self.summary}
        if self.config_model is not None:
            described["config_schema"] = self.config_model.model_json_schema()
        described["interface_version"] = self.interface_version
        return described


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One indicator parameter: its default and the closed range of valid values."""

    name: str
    default: float | int
    minimum: float | int | None = None
    maximum: float | int | None = None
    kind: type = int

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind.__name__,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """A technical indicator: batch function, streaming factory and its metadata.

    ``inputs`` name the price series in call order (``"close"``, ``"high"``...),
    ``outputs`` name the results in output order, and ``warmup(**params)`` returns the
    number of leading bars that are NaN (the TA-Lib "lookback") for those parameters.
    """

    name: str
    batch: Callable[..., Any]
    stream: Callable[..., Any]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    warmup: Callable[..., int]
    summary: str
    aliases: tuple[str, ...] = ()
    source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        defaults = {p.name: p.default for p in self.params}
        return {
            "name": self.name,
            "summary": self.summary,
            "aliases": list(self.aliases),
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "params": [p.describe() for p in self.params],
            "warmup_at_defaults": self.warmup(**defaults),
            "source": self.source,
        }
