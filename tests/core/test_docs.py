"""Documentation that is checked: every hook and argument, the generated config page."""

from __future__ import annotations

import inspect
from pathlib import Path

from moonlight.core import hookspecs
from moonlight.core.config.reference import render_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_hook_and_argument_is_documented() -> None:
    page = (DOCS / "reference" / "hooks.md").read_text(encoding="utf-8")
    hooks = [name for name in dir(hookspecs) if name.startswith("moonlight_")]
    assert len(hooks) >= 12
    for name in hooks:
        function = getattr(hookspecs, name)
        arguments = ", ".join(inspect.signature(function).parameters)
        assert f"`{name}({arguments})`" in page, f"{name}({arguments}) missing from hooks.md"
        assert function.__doc__, f"{name} has no docstring"


def test_configuration_reference_is_generated_from_the_models() -> None:
    page = (DOCS / "reference" / "configuration.md").read_text(encoding="utf-8")
    assert page == render_markdown(), (
        "docs/reference/configuration.md is stale: run"
        " `moonlight config reference > docs/reference/configuration.md`"
    )
