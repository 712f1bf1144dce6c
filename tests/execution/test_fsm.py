"""The transition table: every pair walked, the journal refuses what the table refuses,
and the concept page shows the diagram generated from the table."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from moonlight.core.execution.fsm import (
    ALLOWED,
    TRANSITIONS,
    InvalidTransition,
    check_transition,
    render_mermaid,
    render_table,
)
from moonlight.core.execution.journal import OrderJournal
from moonlight.core.orders import OrderState as S
from tests.execution.support import intent, migrated_sqlite

DOC = Path(__file__).resolve().parents[2] / "docs" / "concepts" / "executor.md"

EXPECTED = {
    (S.IDLE, S.PREPARE),
    (S.PREPARE, S.SEND),
    (S.PREPARE, S.FAILED),
    (S.SEND, S.CONFIRM),
    (S.SEND, S.FAILED),
    (S.CONFIRM, S.SETTLED),
    (S.CONFIRM, S.FAILED),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_every_pair_is_allowed_exactly_when_in_the_table(source: S, target: S) -> None:
    if (source, target) in EXPECTED:
        check_transition(source, target)
    else:
        with pytest.raises(InvalidTransition):
            check_transition(source, target)


def test_terminal_states_have_no_way_out_and_every_state_is_reachable() -> None:
    assert ALLOWED[S.SETTLED] == ALLOWED[S.FAILED] == frozenset()
    reachable, frontier = {S.IDLE}, [S.IDLE]
    while frontier:
        for nxt in ALLOWED[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(S)
    assert {(t.source, t.target) for t in TRANSITIONS} == EXPECTED


def test_the_journal_refuses_a_transition_outside_the_table(tmp_path: Path) -> None:
    engine = migrated_sqlite(tmp_path / "db.sqlite")
    journal = OrderJournal(engine)
    try:
        journal.create(intent("o-1"), at_ts=1_700_000_000.0)
        with pytest.raises(InvalidTransition):
            journal.transition("o-1", S.PREPARE, S.SETTLED, at_ts=1_700_000_001.0)
        stored = journal.get("o-1")
        assert stored is not None and stored.state is S.PREPARE  # nothing written
    finally:
        journal.close()
        engine.dispose()


def test_the_concept_page_shows_the_generated_diagram_and_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- BEGIN GENERATED FSM -->\n(.*?)<!-- END GENERATED FSM -->", text, re.S)
    assert block is not None, "generated block markers missing from docs/concepts/executor.md"
    expected = "```mermaid\n" + render_mermaid() + "```\n\n" + render_table()
    assert block.group(1) == expected, (
        "docs/concepts/executor.md is out of date: paste the output of"
        " `python -m moonlight.core.execution.fsm` between the markers"
    )


def test_the_mermaid_diagram_has_one_edge_per_transition() -> None:
    edges = [line for line in render_mermaid().splitlines() if ": " in line]
    assert len(edges) == len(TRANSITIONS)
