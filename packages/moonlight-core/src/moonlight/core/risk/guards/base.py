"""The guard interface, what the host gives a guard, and what guards observe.

A guard is built once per engine by its plugin factory ``factory(config, *, context)``
(``context`` is a :class:`GuardContext`). The engine then

* asks :meth:`Guard.check` on every decision (hot path: in-memory only, no I/O);
* reports events through the ``on_*`` methods — orders opened and closed, results,
  connector successes and errors (these may persist state through the store);
* asks :meth:`Guard.statuses` for the account's trading state (API, dashboard).

All times come from the caller (``now``), which takes them from the injectable clock, so
tests drive time without sleeping. Event methods default to doing nothing: a guard
overrides only what it observes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from moonlight.core.orders import Outcome
from moonlight.core.risk.decision import GuardDecision
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.state_store import GuardStateStore
from moonlight.core.risk.trading_state import GuardStatus

SYSTEM_ACTOR = "moonlight"
"""``updated_by`` of state changes the engine makes on its own (trips, resets)."""


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What the host hands every guard factory: clock, trading-day timezone, state store."""

    now: Callable[[], datetime]
    timezone: ZoneInfo
    store: GuardStateStore


@dataclass(frozen=True, slots=True)
class TradeResult:
    """A settled order as guards see it. ``pnl`` is the net profit in account currency
    (a loss is ``-stake``, a win ``stake × payout``, a push 0); ``balance_after`` is the
    account balance once the result is booked, when the engine knows it."""

    account_id: str
    instrument: str
    client_req_id: str
    outcome: Outcome
    pnl: float
    balance_after: float | None = None


class ConnectorErrorKind(StrEnum):
    """Connector failures, as the executor classifies the connector's typed errors.

    ``rejected`` (the broker refused this order, e.g. stake too high) and ``auth_failed``
    say nothing about the connection's health and are not counted by the circuit breaker.
    """

    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    TIMEOUT = "timeout"
    DISCONNECTED = "disconnected"
    AMBIGUOUS = "ambiguous"
    REJECTED = "rejected"
    AUTH_FAILED = "auth_failed"


class Guard(ABC):
    """A risk guard: blocks decisions while its condition holds, recovers as documented."""

    #: Registered plugin name (``risk.guards[].name``); also the ``rule`` of its blocks.
    name: str = ""

    @abstractmethod
    def check(self, request: DecisionRequest, now: datetime) -> GuardDecision:
        """Allow or block one decision. Hot path: in-memory only, no I/O, no clock call."""

    @abstractmethod
    def statuses(self, account_id: str, now: datetime) -> list[GuardStatus]:
        """The restrictions this guard currently places on ``account_id`` (may be empty)."""

    def on_order_opened(
        self, account_id: str, instrument: str, client_req_id: str, now: datetime
    ) -> None:
        """An order was created from an allowed decision (entered PREPARE); no-op by default.

        The engine calls it synchronously right after :meth:`check` allowed the order,
        before awaiting anything, so two decisions cannot both take the last slot.
        """
        return None

    def on_order_closed(
        self, account_id: str, instrument: str, client_req_id: str, now: datetime
    ) -> None:
        """An order reached SETTLED or FAILED; no-op unless overridden."""
        return None

    def on_result(self, result: TradeResult, now: datetime) -> None:
        """An order's outcome was recorded; no-op unless overridden."""
        return None

    def on_day_pnl(self, account_id: str, pnl_today: float, now: datetime) -> None:
        """At start-up: the account's net P&L of the current trading day, summed from the
        stored results (the one truth a guard's own record may lag); no-op by default."""
        return None

    def on_connector_success(self, account_id: str, latency_s: float, now: datetime) -> None:
        """A connector call of the account succeeded after ``latency_s``; no-op by default."""
        return None

    def on_connector_error(
        self, account_id: str, kind: ConnectorErrorKind, latency_s: float, now: datetime
    ) -> None:
        """A connector call of the account failed; no-op unless overridden."""
        return None
