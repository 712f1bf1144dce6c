"""Read a YAML configuration file within limits, with a clean error for every bad input.

A configuration is a few kilobytes written by a person; anything far from that is a
mistake or an attack, and is refused before it can cost time or memory:

* **size** — at most :data:`MAX_CONFIG_BYTES` (read with a bound: a huge file or a
  device that never ends is never read whole);
* **encoding** — UTF-8 text (a BOM is allowed); a NUL byte means a binary file;
* **nesting** — at most :data:`MAX_DEPTH` levels (the YAML composer recurses once per
  level: 100,000 levels would otherwise end in a ``RecursionError``);
* **alias expansion** — anchors and aliases (``&base`` / ``*base`` / ``<<: *base``)
  are welcome, but the tree they expand to may have at most :data:`MAX_EXPANDED_NODES`
  nodes (a "billion laughs" file is a few lines that expand to 10⁹ nodes; everything
  downstream walks the expanded tree), and an alias may not refer to the node that
  contains it (``&a [*a]`` expands for ever);
* **duplicate keys** — refused with both line numbers (YAML parsers silently keep the
  last one, so a second ``risk:`` further down would quietly replace the first);
* **empty** — a file with no configuration at all (empty, or only comments) is refused:
  it is almost always the wrong file, and running on pure defaults by accident is not
  a safe outcome.

Every problem becomes a :class:`~moonlight.core.config.errors.ConfigIssue`; the caller
raises them all at once. No traceback ever reaches the operator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from moonlight.core.config.errors import ConfigIssue

MAX_CONFIG_BYTES = 256 * 1024
"""Largest configuration file read (256 KiB, parsed in a few seconds at most; real ones are
a few KiB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences."""
MAX_EXPANDED_NODES = 100_000
"""Most nodes the document may expand to once every alias is followed."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    """A limit was crossed while composing; carries the message for the issue."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses mappings and sequences nested deeper than
    :data:`MAX_DEPTH` (scalars do not count as a level)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if not self.check_event(SequenceStartEvent, MappingStartEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels{_where(event)}")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _where(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f" (line {mark.line + 1})" if mark is not None else ""


def _expanded_size(root: Node) -> int:
    """Nodes in the tree once every alias is followed (shared nodes counted per use).

    Raises :class:`_Refused` for a recursive alias (``&a [*a]``): it expands for ever.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    # Post-order without recursion: depth is bounded already, but this stays cheap.
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if expanded or not children:
            total = 1 + sum(sizes[id(child)] for child in children)
            sizes[id(node)] = min(total, MAX_EXPANDED_NODES + 1)
            open_nodes.discard(id(node))
            continue
        if id(node) in open_nodes:
            raise _Refused(f"recursive alias{_where(node)}: it would expand for ever")
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _duplicate_keys(root: Node) -> list[str]:
    """Keys written twice in one mapping (before merges: ``<<`` keys may be overridden)."""
    found: list[tuple[int, str]] = []
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        stack.extend(_children(node))
        if not isinstance(node, MappingNode):
            continue
        first_line: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
                continue
            line = key.start_mark.line + 1
            first = first_line.get((key.tag, key.value))
            if first is None:
                first_line[(key.tag, key.value)] = line
            else:
                found.append(
                    (
                        line,
                        f"duplicate key {key.value!r} at line {line} (first at line"
                        f" {first}); YAML would silently keep only the last one",
                    )
                )
    return [message for _, message in sorted(found)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def read_text(path: Path) -> tuple[str | None, list[ConfigIssue]]:
    """The file as text, or None with the issue saying why it cannot be used."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        return None, [ConfigIssue("", f"cannot read config file: {exc.strerror or exc}", source)]
    if len(data) > MAX_CONFIG_BYTES:
        limit_kib = MAX_CONFIG_BYTES // 1024
        return None, [
            ConfigIssue("", f"file larger than {limit_kib} KiB: not a configuration", source)
        ]
    nul = data.find(b"\x00")
    if nul >= 0:
        return None, [ConfigIssue("", f"binary file (NUL byte at offset {nul})", source)]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        return None, [
            ConfigIssue(
                "",
                f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start});"
                " save the file as UTF-8",
                source,
            )
        ]


def parse_yaml(text: str, source: str) -> tuple[Any, list[ConfigIssue]]:
    """The YAML document in ``text`` within the limits; ``(None, issues)`` when refused."""
    try:
        return _load(text, source)
    except _Refused as refused:
        return None, [ConfigIssue("", str(refused), source)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [ConfigIssue("", f"not valid YAML{where}: {exc.problem or exc}", source)]
    except yaml.YAMLError as exc:  # the reader's "special characters are not allowed"
        return None, [ConfigIssue("", f"not valid YAML: {exc}", source)]
    except ValueError as exc:  # PyYAML lets a bad timestamp (2001-13-45) escape this way
        return None, [ConfigIssue("", f"not valid YAML: {exc}", source)]


def _load(text: str, source: str) -> tuple[Any, list[ConfigIssue]]:
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [ConfigIssue("", "the file holds no configuration (empty)", source)]
        if _expanded_size(node) > MAX_EXPANDED_NODES:
            return None, [
                ConfigIssue(
                    "",
                    f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes"
                    " (a 'billion laughs' document?)",
                    source,
                )
            ]
        duplicates = _duplicate_keys(node)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    if data is None:  # a document that is only a null (``~``, ``null``, a bare ``!`` tag)
        return None, [ConfigIssue("", "the file holds no configuration (a null document)", source)]
    return data, [ConfigIssue("", message, source) for message in duplicates]
