"""The order state machine as data: one table of allowed transitions, nothing else.

IDLE → PREPARE → SEND → CONFIRM → SETTLED | FAILED. The executor asks
:func:`check_transition` before it persists any move, so a transition that is not in
:data:`TRANSITIONS` can never be written; the concept page's diagram is rendered from the
same table by :func:`render_mermaid` and :func:`render_table` (a test keeps the page in
sync; ``python -m moonlight.core.execution.fsm`` prints both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from moonlight.core.orders import OrderState


class InvalidTransition(RuntimeError):
    """A move that the transition table does not allow."""

    def __init__(self, source: OrderState, target: OrderState) -> None:
        super().__init__(f"order transition {source.value} -> {target.value} is not allowed")
        self.source = source
        self.target = target


@dataclass(frozen=True, slots=True)
class Transition:
    """One allowed move and what triggers it."""

    source: OrderState
    target: OrderState
    trigger: str


S = OrderState

TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.IDLE, S.PREPARE, "decision recorded (order row inserted)"),
    Transition(S.PREPARE, S.SEND, "about to place the order (persisted before sending)"),
    Transition(S.PREPARE, S.FAILED, "trading halted or storage lost before sending"),
    Transition(S.SEND, S.CONFIRM, "broker acknowledged, or the answer was ambiguous"),
    Transition(S.SEND, S.FAILED, "rejected, auth failed, or retries exhausted"),
    Transition(S.CONFIRM, S.SETTLED, "settlement received by push, poll or reconciliation"),
    Transition(
        S.CONFIRM, S.FAILED, "not at the broker, or the broker has no result by the deadline"
    ),
)
"""Every allowed transition; anything else raises :class:`InvalidTransition`."""

ALLOWED: Mapping[OrderState, frozenset[OrderState]] = {
    state: frozenset(t.target for t in TRANSITIONS if t.source is state) for state in OrderState
}
"""Allowed targets per source state (terminal states have none)."""


def check_transition(source: OrderState, target: OrderState) -> None:
    """Raise :class:`InvalidTransition` unless ``source -> target`` is in the table."""
    if target not in ALLOWED[source]:
        raise InvalidTransition(source, target)


def render_table() -> str:
    """The table as a Markdown table (the docs page embeds this text)."""
    lines = ["| from | to | trigger |", "|---|---|---|"]
    lines += [f"| {t.source.value} | {t.target.value} | {t.trigger} |" for t in TRANSITIONS]
    return "\n".join(lines) + "\n"


def render_mermaid() -> str:
    """The table as a Mermaid state diagram (the docs page embeds this text)."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.IDLE.value}"]
    for transition in TRANSITIONS:
        lines.append(
            f"    {transition.source.value} --> {transition.target.value}: {transition.trigger}"
        )
    lines += [f"    {state.value} --> [*]" for state in OrderState if state.is_terminal]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print("```mermaid\n" + render_mermaid() + "```\n\n" + render_table())
