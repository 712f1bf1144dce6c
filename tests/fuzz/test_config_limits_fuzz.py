"""Properties of the bounded configuration reader (finding 14.8), by hypothesis.

* arbitrary bytes give a configuration or a ConfigError — never another exception;
* nesting: a document nested ``d`` levels is refused for depth exactly when
  ``d > MAX_DEPTH``, in block and in flow style;
* aliases: a generated anchor/alias graph is refused exactly when its expanded size
  (computed here independently, by brute force) exceeds ``MAX_EXPANDED_NODES``;
* duplicate keys: a mapping is refused exactly when some key is written twice;
* non-finite numbers: ``.inf``/``-.inf``/``.nan`` put at any numeric leaf of the
  example configuration is refused, naming exactly that path.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from moonlight.core.config import ConfigError, load_config
from moonlight.core.config.yaml_source import MAX_DEPTH, MAX_EXPANDED_NODES, parse_yaml
from tests.fuzz.test_config_fuzz import EXAMPLE, FUZZ as CONFIG_FUZZ

FUZZ = settings(CONFIG_FUZZ, max_examples=80)


def refused_for(text: str, words: str) -> bool:
    _, issues = parse_yaml(text, "fuzz")
    return any(words in issue.message for issue in issues)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_give_a_config_or_a_clean_error(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("bytes") / "config.yaml"
    path.write_bytes(data)
    try:
        load_config(path)
    except ConfigError as error:
        assert error.issues and all(issue.message for issue in error.issues)


@FUZZ
@given(depth=st.integers(1, MAX_DEPTH + 40), flow=st.booleans())
def test_nesting_is_refused_exactly_beyond_the_limit(depth: int, flow: bool) -> None:
    if flow:  # a: [[[...]]] -- the mapping is one level, each list one more
        text = "a: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"
    else:  # k0: {k1: {...}} written as block mappings
        text = "".join(f"{'  ' * i}k{i}:\n" for i in range(depth - 1)) + "  " * (depth - 1)
        text += "leaf: 1\n"
    assert refused_for(text, "nested deeper") == (depth > MAX_DEPTH)


@st.composite
def alias_graphs(draw: st.DrawFn) -> tuple[str, int]:
    """A document of anchored lists, each holding scalars and aliases of earlier ones;
    returns (text, expanded node count computed by brute force)."""
    count = draw(st.integers(1, 12))
    sizes: list[int] = []
    lines = []
    for index in range(count):
        items: list[str] = []
        size = 1  # the list node
        for _ in range(draw(st.integers(1, 12))):
            if sizes and draw(st.booleans()):
                target = draw(st.integers(0, len(sizes) - 1))
                items.append(f"*n{target}")
                size += sizes[target]
            else:
                items.append("x")
                size += 1
        sizes.append(size)
        lines.append(f"n{index}: &n{index} [{', '.join(items)}]")
    total = 1 + sum(1 + size for size in sizes)  # the root, each key and each value
    return "\n".join(lines) + "\n", total


@FUZZ
@given(graph=alias_graphs())
def test_alias_expansion_is_refused_exactly_beyond_the_limit(graph: tuple[str, int]) -> None:
    text, expanded = graph
    assert refused_for(text, "aliases expand") == (expanded > MAX_EXPANDED_NODES)


@FUZZ
@given(keys=st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1, max_size=8))
def test_a_mapping_is_refused_exactly_when_a_key_repeats(keys: list[str]) -> None:
    text = "\n".join(f"{key}: {index}" for index, key in enumerate(keys)) + "\n"
    assert refused_for(text, "duplicate key") == (len(set(keys)) < len(keys))


def numeric_paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(tree, bool):
        return []
    if isinstance(tree, int | float):
        return [prefix]
    if isinstance(tree, dict):
        return [p for key, value in tree.items() for p in numeric_paths(value, (*prefix, key))]
    if isinstance(tree, list):
        return [p for i, value in enumerate(tree) for p in numeric_paths(value, (*prefix, i))]
    return []


def dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


EXAMPLE_TREE = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
NUMERIC = numeric_paths(EXAMPLE_TREE)


@FUZZ
@given(path=st.sampled_from(NUMERIC), value=st.sampled_from([math.inf, -math.inf, math.nan]))
def test_a_non_finite_number_anywhere_is_refused_by_its_path(
    path: tuple[Any, ...], value: float, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tree = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    node = tree
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    directory = tmp_path_factory.mktemp("inf")
    tree["data_dir"] = str(directory / "data")
    file = directory / "config.yaml"
    file.write_text(yaml.safe_dump(tree), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(file)
    assert dotted(path) in {issue.path for issue in refused.value.issues}


def test_the_example_has_numbers_to_fuzz() -> None:
    assert len(NUMERIC) >= 10
