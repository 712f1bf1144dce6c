"""What the executor tells the one component that keeps an account's books (the trader).

Plugins hear about orders through hooks (``moonlight_on_order_settled``…); the account's
own bookkeeping — open-order slots, daily P&L, metrics — must not depend on a hook
relay, and must see *every* order, including those reconciliation resumes or settles
before the engine has finished starting. So the executor reports to an
:class:`OrderObserver` directly, after the result is stored.
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
        """An order's final result is stored (SETTLED or FAILED)."""
