"""One rule for every number in a configuration: it must be finite.

Money (stakes, caps, balances) and time (timeouts, windows, durations) are configured
as numbers, and ``.inf`` / ``.nan`` (YAML), ``Infinity`` / ``NaN`` (JSON bodies of the
API) or ``"inf"`` (environment variables, which pydantic turns into a float) parse as
floats. No MoonLight setting has a meaning for them: an infinite stake cap is no cap, a
NaN threshold compares false with everything, and JSON cannot even store them (an
override of ``Infinity`` came back as ``null`` and bricked the next start). So instead
of a bound on each field, the loader walks the whole tree — the raw input and the
validated values, plugin sections included — and refuses every non-finite number,
naming its path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from moonlight.core.config.errors import ConfigIssue

NOT_FINITE = "must be a finite number (infinity and NaN are not allowed)"


def non_finite_paths(tree: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths (``risk.sizing.params.stake_amount``) of every non-finite number."""
    if isinstance(tree, float):
        if not math.isfinite(tree):
            yield prefix
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from non_finite_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(tree, list | tuple):
        for index, item in enumerate(tree):
            yield from non_finite_paths(item, f"{prefix}[{index}]")


def non_finite_issues(*trees: Any, source: str = "") -> list[ConfigIssue]:
    """One issue per path holding a non-finite number in any of ``trees`` (deduplicated)."""
    paths = dict.fromkeys(path for tree in trees for path in non_finite_paths(tree))
    return [ConfigIssue(path, NOT_FINITE, source) for path in paths]


def reject_non_finite(values: Any) -> None:
    """Raise ValueError naming the first non-finite number (inside a pydantic validator)."""
    for path in non_finite_paths(values):
        raise ValueError(f"{path or 'value'} {NOT_FINITE}")
