"""The settings screen's text: YAML in, a configuration tree out, with a clear error.

The server validates the tree itself (every problem, by dotted path); this module only
turns the operator's text into a mapping, or says exactly why it cannot.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_TEXT_CHARS = 64_000


class OverridesTextError(ValueError):
    """The text is not a YAML mapping."""


def parse_overrides(text: str) -> dict[str, Any]:
    """A mapping from YAML text; empty text is ``{}`` (which clears the overrides)."""
    if len(text) > MAX_TEXT_CHARS:
        raise OverridesTextError(f"the text is longer than {MAX_TEXT_CHARS} characters")
    if not text.strip():
        return {}
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise OverridesTextError(f"not valid YAML{where}: {problem}") from None
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise OverridesTextError(
            "overrides are a mapping of configuration keys, e.g. 'risk:\\n  threshold: 0.6'"
        )
    return tree


def dump_tree(tree: dict[str, Any]) -> str:
    """A configuration tree as block YAML, keys in their given order."""
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, default_flow_style=False)
