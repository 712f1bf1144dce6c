"""The executor's journal: order transitions, each durable before what follows it.

The journal is the only way the executor writes orders. It checks every move against
the transition table first, and turns disk-full, I/O, read-only and locked-past-timeout
failures into :class:`~moonlight.core.storage.errors.StorageUnavailable` (the executor's
signal to stop trading).

Every transition that precedes a side effect at the broker (PREPARE, SEND, CONFIRM) is
one conditional ``UPDATE ... WHERE client_req_id = ? AND state = <expected>`` and a
COMMIT before the method returns, on the journal's own connection, with statements built
once. That keeps the storage overhead of a transition near the database's own cost (tens
of microseconds on SQLite WAL) instead of the ORM's (hundreds): it was measured — see
docs/benchmarks/executor.md. The conditional update also makes writes idempotent: asking
for a transition the order has already made is a no-op, so the executor can simply
repeat a write whose commit it could not observe, and a state that is neither the
expected one nor the target raises :class:`StateMismatch` (a second writer). Every write
increments the ``version`` column, so ORM users of the same rows (the API) still get
optimistic-locking errors on stale copies.

A terminal transition with its result is *staged* instead
(:meth:`OrderJournal.stage_finish`) into the instant's
:class:`~moonlight.core.storage.group_commit.GroupCommit`: results record what the
broker already holds, so they are written after the instant's decisions, together, in
one transaction (reconciliation recovers them after a crash).

:class:`Journal` is the protocol the executor writes through; this stored journal and the
backtest's in-memory one (:class:`~moonlight.core.backtest.journal.MemoryJournal`) both
satisfy it and build their rows with the same functions (:func:`order_row`,
:func:`feature_row`, :func:`result_row`, :func:`alarm_row`, :func:`journal_order`).

Reads use ordinary sessions. Storage overhead is measured here: with
``keep_timings=True`` the wall time of every committed transition (statements and
COMMIT) is appended to :attr:`OrderJournal.write_timings_s`, and the thread's CPU time
for it to :attr:`OrderJournal.write_cpu_s` (the same work without the time the process
waited for a CPU, which dominates wall-time tails on a busy machine).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    exc,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.connectors.contract import BrokerOrder
from moonlight.core.events import AlarmLevel
from moonlight.core.execution.fsm import InvalidTransition, check_transition
from moonlight.core.orders import Direction, OrderState, Outcome
from moonlight.core.storage import repository as repo
from moonlight.core.storage.engine import session_factory
from moonlight.core.storage.errors import StorageUnavailable, translate_storage_errors
from moonlight.core.storage.group_commit import GroupCommit
from moonlight.core.storage.models import Alarm, Feature, Order, Result

T = TypeVar("T")
log = logging.getLogger("moonlight.journal")


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
    #: The broker's machine-readable refusal (``Rejected.code``), stored on the order.
    reason_code: str | None = None


def journal_order(row: Mapping[str, Any]) -> JournalOrder:
    """The executor's view of a stored order row (column name → value)."""
    return JournalOrder(
        client_req_id=row["client_req_id"],
        account_id=row["account_id"],
        instrument=row["instrument"],
        timeframe=row["timeframe"],
        direction=Direction(row["direction"]),
        stake=float(row["stake"]),
        currency=row["currency"],
        duration_s=int(row["duration_s"]),
        payout_pct=float(row["payout_pct"]),
        state=OrderState(row["state"]),
        broker_order_id=row.get("broker_order_id"),
        created_ts=row["created_at"].timestamp(),
        sent_ts=_ts(row.get("sent_at")),
        confirmed_ts=_ts(row.get("confirmed_at")),
        retry_count=int(row.get("retry_count") or 0),
        failure_reason=row.get("failure_reason"),
    )


def order_row(intent: OrderIntent, *, at_ts: float) -> dict[str, Any]:
    """The ``orders`` row of a new order, already in PREPARE (IDLE → PREPARE at ``at_ts``)."""
    at = to_datetime(at_ts)
    created = to_datetime(intent.decided_ts) if intent.decided_ts is not None else at
    return {
        "client_req_id": intent.client_req_id,
        "account_id": intent.account_id,
        "instrument": intent.instrument,
        "timeframe": intent.timeframe,
        "direction": Direction(intent.direction),
        "stake": intent.stake,
        "currency": intent.currency,
        "duration_s": intent.duration_s,
        "payout_pct": intent.payout_pct,
        "score": intent.score,
        "p_hat": intent.p_hat,
        "state": OrderState.PREPARE,
        "created_at": created,
        "prepared_at": at,
        "updated_at": at,
        "strategy_snapshot": intent.strategy_snapshot,
        "retry_count": 0,
        "run_id": intent.run_id,
        "version": 1,
    }


def feature_row(intent: OrderIntent) -> dict[str, Any] | None:
    """The ``features`` row of a new order (without ``order_id``); None if it has none."""
    if not (intent.indicators or intent.signals or intent.extras):
        return None
    return {
        "indicators": dict(intent.indicators or {}),
        "signals": dict(intent.signals or {}),
        "extras": dict(intent.extras or {}),
    }


def alarm_row(level: AlarmLevel, code: str, message: str, scope: str) -> dict[str, Any]:
    """An ``alarms`` row raised now."""
    return {"ts": datetime.now(UTC), "level": level, "code": code, "message": message,
            "scope": scope}  # fmt: skip


class Journal(Protocol):
    """What the executor writes orders through: every transition checked against the
    table, idempotent ("already in target" is not an error), :class:`StateMismatch` for
    a state that is neither. :class:`OrderJournal` stores each write as it happens;
    :class:`~moonlight.core.backtest.journal.MemoryJournal` keeps them for one write at
    the end of a backtest."""

    def create(self, intent: OrderIntent, *, at_ts: float) -> None:
        """Record a new order in PREPARE (with its features); ``DuplicateOrderError``
        when the client_req_id exists."""
        ...

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
        """Record a non-terminal move; False when already in ``target``."""
        ...

    def update(
        self,
        client_req_id: str,
        *,
        broker_order_id: str | None = None,
        retry_count: int | None = None,
    ) -> None:
        """Record facts learnt without a state change."""
        ...

    def stage_finish(
        self,
        client_req_id: str,
        source: OrderState,
        target: OrderState,
        result: ResultRecord,
        *,
        at_ts: float,
        broker_order_id: str | None = None,
    ) -> asyncio.Future[bool]:
        """Record the terminal move and its result as part of the instant's group commit:
        the future is True once recorded (also when already in ``target``), or fails
        with the write's error (``StorageUnavailable``, :class:`StateMismatch`,
        ``KeyError``)."""
        ...

    def bookkeeping(self) -> AbstractContextManager[None]:
        """Writes made inside this block by an order's observers (guard state of its
        result) join the same group commit as the staged result."""
        ...

    def adopt(self, broker_order: BrokerOrder, *, timeframe: str, at_ts: float) -> JournalOrder:
        """Record an order found at the broker but not in storage."""
        ...

    def probe(self, *, at_ts: float) -> None:
        """One small real write: raises StorageUnavailable while storage refuses writes."""
        ...

    def record_alarm(self, level: AlarmLevel, code: str, message: str, scope: str) -> None:
        """Store an alarm."""
        ...

    def get(self, client_req_id: str) -> JournalOrder | None:
        """The recorded order, or None."""
        ...

    def get_by_broker_id(self, broker_order_id: str) -> JournalOrder | None:
        """The recorded order the broker knows under ``broker_order_id``, or None."""
        ...

    def non_terminal(self) -> list[JournalOrder]:
        """Every order not SETTLED or FAILED, oldest first."""
        ...

    def close(self) -> None:
        """Write what is still held and release storage resources."""
        ...


class StateMismatch(RuntimeError):
    """Storage holds a different state than the executor expected (a second writer?)."""


PROBE_KEY = "storage_probe"
"""The engine-state row :meth:`OrderJournal.probe` writes."""

_ORDERS = cast(Table, Order.__table__)
_RESULTS = cast(Table, Result.__table__)
_FEATURES = cast(Table, Feature.__table__)
_ALARMS = cast(Table, Alarm.__table__)


def _transition_statement(target: OrderState, *, returning: bool = True) -> Any:
    """``UPDATE orders SET state = target, <target>_at = :at ... WHERE id and state match``."""
    values: dict[str, Any] = {
        "state": target,
        "updated_at": bindparam("b_at"),
        "version": _ORDERS.c.version + 1,
        "failure_reason": func.coalesce(bindparam("b_reason"), _ORDERS.c.failure_reason),
        "reason_code": func.coalesce(bindparam("b_code"), _ORDERS.c.reason_code),
        "broker_order_id": func.coalesce(bindparam("b_broker"), _ORDERS.c.broker_order_id),
    }
    column = repo.TRANSITION_TIMESTAMPS.get(target)
    if column is not None:
        values[column] = bindparam("b_at")
    statement = (
        update(_ORDERS)
        .where(_ORDERS.c.client_req_id == bindparam("b_cid"))
        .where(_ORDERS.c.state == bindparam("b_source"))
        .values(values)
    )
    return statement.returning(_ORDERS.c.id) if returning else statement


_TRANSITIONS = {state: _transition_statement(state) for state in OrderState}
_FACTS = (
    update(_ORDERS)
    .where(_ORDERS.c.client_req_id == bindparam("b_cid"))
    .values(
        updated_at=bindparam("b_at"),
        version=_ORDERS.c.version + 1,
        broker_order_id=func.coalesce(bindparam("b_broker"), _ORDERS.c.broker_order_id),
        retry_count=func.coalesce(bindparam("b_retries"), _ORDERS.c.retry_count),
    )
)
_STATE_OF = select(_ORDERS.c.state).where(_ORDERS.c.client_req_id == bindparam("b_cid"))


class OrderJournal:
    """Committed, table-checked writes of order transitions; see the module docstring."""

    def __init__(
        self, engine: Engine, *, keep_timings: bool = False, group: GroupCommit | None = None
    ) -> None:
        self.engine = engine
        #: Where staged results are committed, once per instant (shared with the guard
        #: state store when the engine builds both).
        self.group = group if group is not None else GroupCommit(engine)
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.keep_timings = keep_timings
        self.write_timings_s: list[float] = []
        self.write_cpu_s: list[float] = []
        self._connection: Connection | None = None

    def close(self) -> None:
        """Commit what is still staged, then return the journal's connection to the pool.

        A commit that storage refuses now is logged, not raised: those results are facts
        the broker holds, and the next start-up's reconciliation records them."""
        try:
            self.group.flush()
        except StorageUnavailable as error:
            log.error("staged results not written at close (reconciled at start-up): %s", error)
        finally:
            self._drop_connection()

    # -- writes -----------------------------------------------------------------------

    def create(self, intent: OrderIntent, *, at_ts: float) -> None:
        """Insert the order already in PREPARE (IDLE → PREPARE), with its features.

        One INSERT (two with features) and one COMMIT. Raises
        :class:`~moonlight.core.storage.repository.DuplicateOrderError` when the
        client_req_id exists.
        """
        check_transition(OrderState.IDLE, OrderState.PREPARE)
        row = order_row(intent, at_ts=at_ts)
        features = feature_row(intent)

        def write(connection: Connection) -> None:
            try:
                inserted = connection.execute(insert(_ORDERS), row)
            except exc.IntegrityError as error:
                if "client_req_id" in str(error.orig):
                    raise repo.DuplicateOrderError(intent.client_req_id) from error
                raise
            if features is not None:
                key = inserted.inserted_primary_key
                assert key is not None
                order_id = key[0]
                connection.execute(insert(_FEATURES), {"order_id": order_id, **features})

        self._write(write)

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

        def write(connection: Connection) -> bool:
            return (
                self._move(
                    connection, client_req_id, source, target, at_ts, reason, broker_order_id
                )
                is not None
            )

        return self._write(write)

    def update(
        self,
        client_req_id: str,
        *,
        broker_order_id: str | None = None,
        retry_count: int | None = None,
    ) -> None:
        """Record facts learnt without a state change (broker id found, a retry)."""
        params = {
            "b_cid": client_req_id,
            "b_at": datetime.now(UTC),
            "b_broker": broker_order_id,
            "b_retries": retry_count,
        }

        def write(connection: Connection) -> None:
            if connection.execute(_FACTS, params).rowcount != 1:
                raise KeyError(f"no stored order {client_req_id!r}")

        self._write(write, timed=False)

    def stage_finish(
        self,
        client_req_id: str,
        source: OrderState,
        target: OrderState,
        result: ResultRecord,
        *,
        at_ts: float,
        broker_order_id: str | None = None,
    ) -> asyncio.Future[bool]:
        """The terminal move and its result, staged into this instant's group commit
        (one ``executemany`` for all the instant's terminal moves, one for their
        results).

        The future is True once recorded (also when the order already was in
        ``target``), or fails with ``StorageUnavailable``, :class:`StateMismatch` or
        ``KeyError``.
        """
        check_transition(source, target)
        if not target.is_terminal:
            raise InvalidTransition(source, target)
        failed = target is OrderState.FAILED
        row = {
            **_move_params(
                client_req_id,
                source,
                at_ts,
                result.reason if failed else None,
                broker_order_id,
                result.reason_code if failed else None,
            ),
            **{f"r_{key}": value for key, value in result_row(result).items()},
        }
        future = self.group.stage(_FINISHES[target], row)
        assert future is not None
        return future

    def bookkeeping(self) -> AbstractContextManager[None]:
        """Guard-state writes inside this block join the group commit (see
        :meth:`GroupCommit.collecting`)."""
        return self.group.collecting()

    def adopt(self, broker_order: BrokerOrder, *, timeframe: str, at_ts: float) -> JournalOrder:
        """Record an order found at the broker but not in storage (an orphan).

        It is inserted already in CONFIRM with the broker's id (the IDLE → PREPARE →
        SEND → CONFIRM walk stamped at ``at_ts``), so the executor can follow it to its
        settlement like any other.
        """
        client_req_id = broker_order.client_req_id or f"orphan-{broker_order.broker_order_id}"
        at = to_datetime(at_ts)
        row = {
            "client_req_id": client_req_id,
            "account_id": broker_order.account_id,
            "instrument": broker_order.instrument,
            "timeframe": timeframe,
            "direction": broker_order.direction,
            "stake": broker_order.stake,
            "currency": "",
            "duration_s": broker_order.duration_s,
            "payout_pct": broker_order.payout_pct,
            "state": OrderState.CONFIRM,
            "created_at": to_datetime(broker_order.accepted_ts),
            "prepared_at": at,
            "sent_at": at,
            "confirmed_at": at,
            "updated_at": at,
            "failure_reason": "adopted from the broker at reconciliation",
            "broker_order_id": broker_order.broker_order_id,
            "strategy_snapshot": {"adopted": True},
            "retry_count": 0,
            "version": 1,
        }
        self._write(lambda connection: connection.execute(insert(_ORDERS), row), timed=False)
        adopted = self.get(client_req_id)
        assert adopted is not None
        return adopted

    def probe(self, *, at_ts: float) -> None:
        """One small real write (the ``storage_probe`` engine-state row): tells whether
        storage takes writes again after a fault. Raises StorageUnavailable."""

        def write(connection: Connection) -> None:
            with Session(bind=connection) as session:
                repo.set_engine_state(
                    session, PROBE_KEY, {"at": to_datetime(at_ts).isoformat()}, updated_by="system"
                )
                session.flush()

        self._write(write, timed=False)

    def record_alarm(self, level: AlarmLevel, code: str, message: str, scope: str) -> None:
        """Store an alarm (raises StorageUnavailable like any write)."""
        row = alarm_row(level, code, message, scope)
        self._write(lambda connection: connection.execute(insert(_ALARMS), row), timed=False)

    # -- reads ------------------------------------------------------------------------

    def get(self, client_req_id: str) -> JournalOrder | None:
        """The stored order, or None."""
        with translate_storage_errors(), self.sessions() as session:
            order = repo.find_order(session, client_req_id)
            return None if order is None else journal_order(_columns(order))

    def get_by_broker_id(self, broker_order_id: str) -> JournalOrder | None:
        """The stored order the broker knows under ``broker_order_id``, or None."""
        with translate_storage_errors(), self.sessions() as session:
            order = repo.find_order_by_broker_id(session, broker_order_id)
            return None if order is None else journal_order(_columns(order))

    def non_terminal(self) -> list[JournalOrder]:
        """Every order not SETTLED or FAILED, oldest first."""
        with translate_storage_errors(), self.sessions() as session:
            return [journal_order(_columns(order)) for order in repo.non_terminal_orders(session)]

    # -- internals --------------------------------------------------------------------

    def _move(
        self,
        connection: Connection,
        client_req_id: str,
        source: OrderState,
        target: OrderState,
        at_ts: float,
        reason: str | None,
        broker_order_id: str | None,
        code: str | None = None,
    ) -> int | None:
        """The conditional UPDATE; the order's id, or None if already in ``target``."""
        params = _move_params(client_req_id, source, at_ts, reason, broker_order_id, code)
        order_id = connection.execute(_TRANSITIONS[target], params).scalar()
        if order_id is not None:
            return int(order_id)
        stored = connection.execute(_STATE_OF, {"b_cid": client_req_id}).scalar()
        if stored is None:
            raise KeyError(f"no stored order {client_req_id!r}")
        if OrderState(stored) == target:
            return None
        raise StateMismatch(
            f"{client_req_id}: stored state {OrderState(stored).value}, expected {source.value}"
        )

    def _write(self, write: Callable[[Connection], T], *, timed: bool = True) -> T:
        started = time.perf_counter()
        started_cpu = time.thread_time()
        try:
            with translate_storage_errors():
                connection = self._connection
                if connection is None:
                    connection = self._connection = self.engine.connect()
                value = write(connection)
                connection.commit()
        except BaseException:
            self._drop_connection()  # roll back; a failed connection may be unusable
            raise
        if timed and self.keep_timings:
            self.write_timings_s.append(time.perf_counter() - started)
            self.write_cpu_s.append(time.thread_time() - started_cpu)
        return value

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.rollback()
        except exc.SQLAlchemyError:
            pass
        finally:
            try:
                connection.close()
            except exc.SQLAlchemyError:
                connection.invalidate()


def result_row(result: ResultRecord) -> dict[str, Any]:
    """The ``results`` row of an order's end (without ``order_id``)."""

    def when(ts: float | None) -> datetime | None:
        return None if ts is None else to_datetime(ts)

    return {
        "outcome": result.outcome,
        "pnl": result.pnl,
        "entry_price": result.entry_price,
        "exit_price": result.exit_price,
        "opened_at": when(result.opened_ts),
        "expires_at": when(result.expires_ts),
        "settled_at": to_datetime(result.settled_ts),
        "latency_decision_to_send_ms": result.decision_to_send_ms,
        "latency_send_to_ack_ms": result.send_to_ack_ms,
        "latency_expiry_to_settlement_ms": result.expiry_to_settlement_ms,
        "reason": result.reason,
    }


def _columns(order: Order) -> dict[str, Any]:
    return {column.key: getattr(order, column.key) for column in _ORDERS.columns}


def _move_params(
    client_req_id: str,
    source: OrderState,
    at_ts: float,
    reason: str | None,
    broker_order_id: str | None,
    code: str | None,
) -> dict[str, Any]:
    """Bind values of the conditional transition UPDATE."""
    return {
        "b_cid": client_req_id,
        "b_source": source,
        "b_at": to_datetime(at_ts),
        "b_reason": reason,
        "b_code": code,
        "b_broker": broker_order_id,
    }


class _FinishBatch:
    """The staged terminal moves of one target state: a :class:`BatchWrite`.

    One ``executemany`` of the conditional transition UPDATE, one of an INSERT … SELECT
    that adds the result only to an order now in ``target`` and without one (so a row
    written twice adds nothing). When every row moved, each answer is True; otherwise one
    SELECT of the stored states answers each row.
    """

    def __init__(self, target: OrderState) -> None:
        self.target = target
        self._move = _transition_statement(target, returning=False)
        result_columns = [c for c in _RESULTS.columns if c.key not in ("id", "order_id")]
        source = select(
            _ORDERS.c.id,
            *(bindparam(f"r_{c.key}", type_=c.type) for c in result_columns),
        ).where(
            _ORDERS.c.client_req_id == bindparam("b_cid"),
            _ORDERS.c.state == target,
            ~exists().where(_RESULTS.c.order_id == _ORDERS.c.id),
        )
        self._result = insert(_RESULTS).from_select(
            ["order_id", *(c.key for c in result_columns)], source
        )

    def write(self, connection: Connection, rows: Sequence[Any]) -> list[object]:
        moved = connection.execute(self._move, list(rows)).rowcount
        connection.execute(self._result, list(rows))
        if moved == len(rows) and connection.dialect.supports_sane_multi_rowcount:
            return [True] * len(rows)
        cids = [row["b_cid"] for row in rows]
        found = connection.execute(
            select(_ORDERS.c.client_req_id, _ORDERS.c.state).where(
                _ORDERS.c.client_req_id.in_(cids)
            )
        )
        stored = {cid: state for cid, state in found}
        return [self._answer(row, stored.get(row["b_cid"])) for row in rows]

    def _answer(self, row: Mapping[str, Any], stored: OrderState | str | None) -> object:
        cid = row["b_cid"]
        if stored is None:
            return KeyError(f"no stored order {cid!r}")
        if OrderState(stored) is self.target:
            return True
        return StateMismatch(
            f"{cid}: stored state {OrderState(stored).value}, expected {row['b_source'].value}"
        )


_FINISHES = {target: _FinishBatch(target) for target in OrderState if target.is_terminal}
