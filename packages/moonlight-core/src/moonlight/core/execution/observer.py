"""What the executor tells the one component that keeps an account's books (the trader).

Plugins hear about orders through hooks (``moonlight_on_order_settled``…); the account's
own bookkeeping — open-order slots, daily P&L, metrics — must not depend on a hook
relay, and must see *every* order, including those reconciliation resumes or settles
before the engine has finished starting. So the executor reports to an
:class:`OrderObserver` directly. A result is reported when it is staged into the
instant's group commit, inside :meth:`~moonlight.core.execution.journal.Journal.bookkeeping`,
so the guard state the observer derives from it is written in the same transaction; a
crash before that commit loses both, and reconciliation reports the result again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from moonlight.core.events import OrderSettled
from moonlight.core.execution.journal import ResultRecord


@dataclass(frozen=True, slots=True)
class FinishedOrder:
    """An order that reached SETTLED or FAILED, as stored: the event plus its figures."""

    event: OrderSettled
    timeframe: str
    decided_ts: float
    result: ResultRecord


class OrderObserver(Protocol):
    """Receives an account's order life cycle from its executor."""

    def order_resumed(self, account_id: str, instrument: str, client_req_id: str) -> None:
        """An order stored by an earlier run is open at the broker and followed again."""

    def order_finished(self, finished: FinishedOrder) -> None:
        """An order's final result (SETTLED or FAILED) is being recorded."""
