"""Small in-process plugins used by the plugin-host tests."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.plugins import ComponentSpec, hookimpl


class EchoParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    period: int = Field(default=5, ge=1, le=100)


def _strategy(name: str) -> ComponentSpec:
    return ComponentSpec(
        name=name, factory=dict, summary=f"test strategy {name}", config_model=EchoParams
    )


class GoodPlugin:
    @hookimpl
    def moonlight_register_strategies(self) -> Sequence[ComponentSpec]:
        return [_strategy("echo")]

    @hookimpl
    def moonlight_register_connectors(self) -> Sequence[ComponentSpec]:
        return [ComponentSpec(name="loop", factory=dict, summary="test connector")]


class DuplicatePlugin:
    @hookimpl
    def moonlight_register_strategies(self) -> Sequence[ComponentSpec]:
        return [_strategy("echo"), _strategy("unique")]


class MisspelledPlugin:
    @hookimpl
    def moonlight_register_strategys(self) -> Sequence[ComponentSpec]:  # typo on purpose
        return [_strategy("never")]


class RaisingPlugin:
    @hookimpl
    def moonlight_register_connectors(self) -> Sequence[ComponentSpec]:
        raise RuntimeError("boom at registration")

    @hookimpl
    def moonlight_register_strategies(self) -> Sequence[ComponentSpec]:
        return [_strategy("from-raising")]


class WrongTypePlugin:
    @hookimpl
    def moonlight_register_guards(self) -> Sequence[object]:
        return ["not a spec"]


class ObserverPlugin:
    def __init__(self) -> None:
        self.seen: list[object] = []

    @hookimpl
    def moonlight_on_alarm(self, event: object) -> None:
        self.seen.append(event)


class FailingObserver:
    @hookimpl
    def moonlight_on_alarm(self, event: object) -> None:
        raise ValueError("observer bug")
