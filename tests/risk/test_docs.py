"""docs/concepts/risk.md must name every reason code, guard, policy and parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from moonlight.core.plugins import ComponentKind, build_plugin_host
from moonlight.core.risk.decision import ReasonCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "concepts" / "risk.md"


@pytest.fixture(scope="module")
def text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_reason_code_is_documented(text: str) -> None:
    missing = [code.value for code in ReasonCode if f"`{code.value}`" not in text]
    assert missing == []


def test_every_builtin_guard_policy_and_parameter_is_documented(text: str) -> None:
    registry = build_plugin_host(environ={"MOONLIGHT_DISABLE_PLUGINS": "*"}).registry
    missing = []
    for kind in (ComponentKind.GUARD, ComponentKind.SIZING_POLICY):
        for registration in registry.registrations(kind):
            spec = registration.component
            names = [spec.name, *(spec.config_model.model_fields if spec.config_model else ())]
            missing += [name for name in names if f"`{name}`" not in text]
    assert missing == []
