"""The settings screen's YAML: a mapping, or a clear reason."""

from __future__ import annotations

import pytest

from moonlight.console.overrides import (
    MAX_TEXT_CHARS,
    OverridesTextError,
    dump_tree,
    parse_overrides,
)


def test_yaml_mappings_round_trip() -> None:
    tree = {"risk": {"threshold": 0.6, "guards": [{"name": "kill_switch"}]}}
    assert parse_overrides(dump_tree(tree)) == tree
    assert parse_overrides("") == {} and parse_overrides("# nothing\n") == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("risk: [1, 2", "line 1"),
        ("- a\n- b\n", "mapping"),
        ("42", "mapping"),
        ("x" * (MAX_TEXT_CHARS + 1), "longer than"),
    ],
)
def test_other_text_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(OverridesTextError, match=reason):
        parse_overrides(text)
