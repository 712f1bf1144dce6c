"""The executor's journal: each order transition is one committed storage transaction.

The journal is the only way the executor writes orders. Every method commits before it
returns, checks the move against the transition table first, and turns disk-full, I/O,
read-only and locked-past-timeout failures into
:class:`~moonlight.core.storage.errors.StorageUnavailable` (the executor's signal to stop
trading). Writes are idempotent where a retry can meet an already-recorded state: asking
for a transition the order has already made is a no-op, so the executor can simply
repeat a write whose commit outcome it could not observe.

Storage overhead is measured here: with ``keep_timings=True`` the wall time of every
committed write (session, statements and COMMIT) is appended to
:attr:`OrderJournal.write_timings_s`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.connectors.contract import BrokerOrder
from moonlight.core.events import AlarmLevel
from moonlight.core.execution.fsm import InvalidTransition, check_transition
from moonlight.core.orders import Direction, OrderState, Outcome
from moonlight.core.storage import repository as repo
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.models import Order

T = TypeVar("T")


def to_datetime(ts: float) -> datetime:
    """Epoch seconds as an aware UTC datetime (storage's timestamp type)."""
    return datetime.fromtimestamp(ts, UTC)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A decision to trade, as the engine hands it to the executor.

    ``client_req_id`` must be unique forever (storage enforces it): the same decision can
    never produce two orders. ``decided_ts`` is when the decision was taken (for the
    decision→send latency); ``indicators``/``signals``/``extras`` are stored as the
    order's features in the same transaction as the order.
    """

    client_req_id: str
    account_id: str
    instrument: str
    timeframe: str
    direction: Direction
    stake: float
    duration_s: int
    payout_pct: float
    currency: str = "USD"
    score: float | None = None
    p_hat: float | None = None
    decided_ts: float | None = None
    min_payout_pct: float | None = None
    strategy_snapshot: dict[str, Any] | None = None
    indicators: dict[str, Any] | None = None
    signals: dict[str, Any] | None = None
    extras: dict[str, Any] | None = None
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class JournalOrder:
    """A stored order as the executor and reconciliation need it."""

    client_req_id: str
    account_id: str
    instrument: str
    timeframe: str
    direction: Direction
    stake: float
    currency: str
    duration_s: int
    payout_pct: float
    state: OrderState
    broker_order_id: str | None
    created_ts: float
    sent_ts: float | None
    confirmed_ts: float | None
    retry_count: int
    failure_reason: str | None


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """How an order ended, for the ``results`` table."""

    outcome: Outcome
    pnl: float
    settled_ts: float
    entry_price: float | None = None
    exit_price: float | None = None
    opened_ts: float | None = None
    expires_ts: float | None = None
    decision_to_send_ms: float | None = None
    send_to_ack_ms: float | None = None
    expiry_to_settlement_ms: float | None = None
    reason: str | None = None


def _view(order: Order) -> JournalOrder:
    return JournalOrder(
        client_req_id=order.client_req_id,
        account_id=order.account_id,
        instrument=order.instrument,
        timeframe=order.timeframe,
        direction=Direction(order.direction),
        stake=float(order.stake),
        currency=order.currency,
        duration_s=int(order.duration_s),
        payout_pct=float(order.payout_pct),
        state=OrderState(order.state),
        broker_order_id=order.broker_order_id,
        created_ts=order.created_at.timestamp(),
        sent_ts=_ts(order.sent_at),
        confirmed_ts=_ts(order.confirmed_at),
        retry_count=int(order.retry_count),
        failure_reason=order.failure_reason,
    )


class StateMismatch(RuntimeError):
    """Storage holds a different state than the executor expected (a second writer?)."""


@dataclass
class OrderJournal:
    """Committed, table-checked writes of order transitions; see the module docstring."""

    sessions: sessionmaker[Session]
    keep_timings: bool = False
    write_timings_s: list[float] = field(default_factory=list)
    _live: dict[str, Order] = field(default_factory=dict)

    # -- writes -----------------------------------------------------------------------

    def create(self, intent: OrderIntent, *, at_ts: float) -> JournalOrder:
        """Insert the order and move it IDLE → PREPARE, with its features, in one commit.

        Raises :class:`~moonlight.core.storage.repository.DuplicateOrderError` when the
        client_req_id exists.
        """
        check_transition(OrderState.IDLE, OrderState.PREPARE)
        created = to_datetime(intent.decided_ts if intent.decided_ts is not None else at_ts)

        def write(session: Session) -> Order:
            order = repo.insert_order(
                session,
                client_req_id=intent.client_req_id,
                account_id=intent.account_id,
                instrument=intent.instrument,
                timeframe=intent.timeframe,
                direction=intent.direction,
                stake=intent.stake,
                currency=intent.currency,
                duration_s=intent.duration_s,
                payout_pct=intent.payout_pct,
                score=intent.score,
                p_hat=intent.p_hat,
                strategy_snapshot=intent.strategy_snapshot,
                run_id=intent.run_id,
                created_at=created,
            )
            if intent.indicators or intent.signals or intent.extras:
                repo.record_features(
                    session,
                    order,
                    indicators=intent.indicators or {},
                    signals=intent.signals or {},
                    extras=intent.extras,
                )
            repo.record_transition(session, order, OrderState.PREPARE, at=to_datetime(at_ts))
            return order

        order = self._write(intent.client_req_id, write)
        self._live[intent.client_req_id] = order
        return _view(order)

    def transition(
        self,
        client_req_id: str,
        source: OrderState,
        target: OrderState,
        *,
        at_ts: float,
        reason: str | None = None,
        broker_order_id: str | None = None,
    ) -> bool:
        """Record ``source -> target``; False when the order was already in ``target``."""
        check_transition(source, target)

        def write(session: Session) -> bool:
            order = self._attached(session, client_req_id)
            if order.state == target:
                return False
            if order.state != source:
                raise StateMismatch(
                    f"{client_req_id}: stored state {order.state.value}, expected {source.value}"
                )
            repo.record_transition(
                session,
                order,
                target,
                at=to_datetime(at_ts),
                reason=reason,
                broker_order_id=broker_order_id,
            )
            return True

        return self._write(client_req_id, write)

    def update(
        self,
        client_req_id: str,
        *,
        broker_order_id: str | None = None,
        retry_count: int | None = None,
    ) -> None:
        """Record facts learnt without a state change (broker id found, a retry)."""

        def write(session: Session) -> None:
            order = self._attached(session, client_req_id)
            if broker_order_id is not None:
                order.broker_order_id = broker_order_id
            if retry_count is not None:
                order.retry_count = retry_count
            session.flush()

        self._write(client_req_id, write)

    def finish(
        self,
        client_req_id: str,
        source: OrderState,
        target: OrderState,
        result: ResultRecord,
        *,
        at_ts: float,
        broker_order_id: str | None = None,
    ) -> bool:
        """Record the terminal transition and the result in one commit.

        False when the order was already terminal in ``target`` (nothing written).
        """
        check_transition(source, target)
        if not target.is_terminal:
            raise InvalidTransition(source, target)

        def write(session: Session) -> bool:
            order = self._attached(session, client_req_id)
            if order.state == target:
                return False
            if order.state != source:
                raise StateMismatch(
                    f"{client_req_id}: stored state {order.state.value}, expected {source.value}"
                )
            repo.record_transition(
                session,
                order,
                target,
                at=to_datetime(at_ts),
                reason=result.reason if target is OrderState.FAILED else None,
                broker_order_id=broker_order_id,
            )
            repo.record_result(
                session,
                order,
                outcome=result.outcome,
                pnl=result.pnl,
                entry_price=result.entry_price,
                exit_price=result.exit_price,
                opened_at=None if result.opened_ts is None else to_datetime(result.opened_ts),
                expires_at=None if result.expires_ts is None else to_datetime(result.expires_ts),
                settled_at=to_datetime(result.settled_ts),
                latencies=repo.Latencies(
                    decision_to_send_ms=result.decision_to_send_ms,
                    send_to_ack_ms=result.send_to_ack_ms,
                    expiry_to_settlement_ms=result.expiry_to_settlement_ms,
                ),
                reason=result.reason,
            )
            return True

        done = self._write(client_req_id, write)
        self._live.pop(client_req_id, None)
        return done

    def adopt(self, broker_order: BrokerOrder, *, timeframe: str, at_ts: float) -> JournalOrder:
        """Record an order found at the broker but not in storage (an orphan).

        It is inserted and walked IDLE → PREPARE → SEND → CONFIRM in one commit with the
        broker's id, so the executor can follow it to its settlement like any other.
        """
        client_req_id = broker_order.client_req_id or f"orphan-{broker_order.broker_order_id}"
        when = to_datetime(at_ts)

        def write(session: Session) -> Order:
            order = repo.insert_order(
                session,
                client_req_id=client_req_id,
                account_id=broker_order.account_id,
                instrument=broker_order.instrument,
                timeframe=timeframe,
                direction=broker_order.direction,
                stake=broker_order.stake,
                currency="",
                duration_s=broker_order.duration_s,
                payout_pct=broker_order.payout_pct,
                strategy_snapshot={"adopted": True},
                created_at=to_datetime(broker_order.accepted_ts),
            )
            for target in (OrderState.PREPARE, OrderState.SEND, OrderState.CONFIRM):
                repo.record_transition(
                    session,
                    order,
                    target,
                    at=when,
                    reason="adopted from the broker at reconciliation",
                    broker_order_id=broker_order.broker_order_id,
                )
            return order

        order = self._write(client_req_id, write)
        self._live[client_req_id] = order
        return _view(order)

    def record_alarm(self, level: AlarmLevel, code: str, message: str, scope: str) -> None:
        """Store an alarm (raises StorageUnavailable like any write)."""

        def write(session: Session) -> None:
            repo.record_alarm(session, level=level, code=code, message=message, scope=scope)

        self._write("", write, timed=False)

    # -- reads ------------------------------------------------------------------------

    def get(self, client_req_id: str) -> JournalOrder | None:
        """The stored order, or None."""
        with translate_storage_errors(), self.sessions() as session:
            order = repo.find_order(session, client_req_id)
            return None if order is None else _view(order)

    def get_by_broker_id(self, broker_order_id: str) -> JournalOrder | None:
        """The stored order the broker knows under ``broker_order_id``, or None."""
        with translate_storage_errors(), self.sessions() as session:
            order = repo.find_order_by_broker_id(session, broker_order_id)
            return None if order is None else _view(order)

    def non_terminal(self) -> list[JournalOrder]:
        """Every order not SETTLED or FAILED, oldest first."""
        with translate_storage_errors(), self.sessions() as session:
            return [_view(order) for order in repo.non_terminal_orders(session)]

    # -- internals --------------------------------------------------------------------

    def _attached(self, session: Session, client_req_id: str) -> Order:
        order = self._live.get(client_req_id)
        if order is not None:
            session.add(order)  # detached but loaded: re-attach without a SELECT
            return order
        found = repo.find_order(session, client_req_id)
        if found is None:
            raise KeyError(f"no stored order {client_req_id!r}")
        self._live[client_req_id] = found
        return found

    def _write(self, client_req_id: str, write: Callable[[Session], T], *, timed: bool = True) -> T:
        started = time.perf_counter()
        try:
            with translate_storage_errors(), self.sessions.begin() as session:
                value = write(session)
        except BaseException:
            # The in-memory row may hold values the database rolled back: reload next time.
            self._live.pop(client_req_id, None)
            raise
        if timed and self.keep_timings:
            self.write_timings_s.append(time.perf_counter() - started)
        return value
