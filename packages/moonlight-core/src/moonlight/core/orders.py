"""Shared vocabulary of an order: its executor state, its direction and its outcome.

These enums are used by the executor, the connectors, the paper broker, risk and storage,
so they live in one small module that imports nothing else from MoonLight. All are
``StrEnum``: a member compares equal to its value, serialises to JSON as a plain string,
and is stored under that value in the database.
"""

from __future__ import annotations

from enum import StrEnum


class OrderState(StrEnum):
    """Where an order is in the executor's state machine.

    IDLE → PREPARE → SEND → CONFIRM → SETTLED | FAILED. SETTLED and FAILED are terminal;
    the allowed transitions are the executor's table, not this enum's business.
    """

    IDLE = "IDLE"
    PREPARE = "PREPARE"
    SEND = "SEND"
    CONFIRM = "CONFIRM"
    SETTLED = "SETTLED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        """True for SETTLED and FAILED: nothing more will happen to the order."""
        return self in (OrderState.SETTLED, OrderState.FAILED)


class Direction(StrEnum):
    """Which way a fixed-time contract bets: the expiry price above or below entry."""

    UP = "up"
    DOWN = "down"


class Outcome(StrEnum):
    """How a contract ended.

    win: the price moved the chosen way; lose: the other way; push: expiry price equal to
    entry price (stake returned); abort: no valid result (rejected late, never settled by
    the deadline, cancelled by reconciliation) — the reason is stored beside it.
    """

    WIN = "win"
    LOSE = "lose"
    PUSH = "push"
    ABORT = "abort"
