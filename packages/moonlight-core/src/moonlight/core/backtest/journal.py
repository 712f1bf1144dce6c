"""MemoryJournal: the executor's journal kept in memory, written to storage at the end.

Live, every order transition is a committed transaction so a crash loses nothing. A
backtest has nothing to recover -- if it dies it is simply run again -- so committing
four transactions per simulated order would only make it slow. The memory journal
keeps the executor's contract exactly (same transition checks through the FSM table,
same idempotent "already in target" answers, same :class:`StateMismatch` and
duplicate-id errors, same rows) and :meth:`MemoryJournal.flush` inserts every order with
its features and result, and the alarms, in one transaction when the engine stops.

``client_req_id`` is unique in storage forever, and the same backtest on the same bars
decides the same ids; so that many runs can share one database, the stored ids carry
``id_prefix`` (the backtest uses ``"<run id>/"``;
:func:`~moonlight.core.backtest.trades.load_trades` takes it off again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, func, insert, select

from moonlight.core.connectors.contract import BrokerOrder
from moonlight.core.events import AlarmLevel
from moonlight.core.execution.fsm import InvalidTransition, check_transition
from moonlight.core.execution.journal import (
    JournalOrder,
    OrderIntent,
    OrderJournal,
    ResultRecord,
    StateMismatch,
    to_datetime,
)
from moonlight.core.orders import Direction, OrderState
from moonlight.core.storage import repository as repo
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.models import Alarm, Feature, Order, Result

_ORDERS = cast(Table, Order.__table__)
_RESULTS = cast(Table, Result.__table__)
_FEATURES = cast(Table, Feature.__table__)
_ALARMS = cast(Table, Alarm.__table__)


@dataclass
class _Entry:
    row: dict[str, Any]
    features: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    order: int = 0


@dataclass
class _Book:
    entries: dict[str, _Entry] = field(default_factory=dict)
    by_broker: dict[str, str] = field(default_factory=dict)
    alarms: list[dict[str, Any]] = field(default_factory=list)


def _view(row: dict[str, Any]) -> JournalOrder:
    def ts(value: datetime | None) -> float | None:
        return None if value is None else value.timestamp()

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
        sent_ts=ts(row.get("sent_at")),
        confirmed_ts=ts(row.get("confirmed_at")),
        retry_count=int(row.get("retry_count", 0)),
        failure_reason=row.get("failure_reason"),
    )


class MemoryJournal(OrderJournal):
    """An :class:`OrderJournal` in memory; see the module docstring."""

    def __init__(self, engine: Engine, *, id_prefix: str = "") -> None:
        super().__init__(engine)
        self.id_prefix = id_prefix
        self._book = _Book()
        self.flushed = 0

    # -- writes -----------------------------------------------------------------------

    def create(self, intent: OrderIntent, *, at_ts: float) -> None:
        check_transition(OrderState.IDLE, OrderState.PREPARE)
        if intent.client_req_id in self._book.entries:
            raise repo.DuplicateOrderError(intent.client_req_id)
        at = to_datetime(at_ts)
        created = to_datetime(intent.decided_ts) if intent.decided_ts is not None else at
        row: dict[str, Any] = {
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
        features = None
        if intent.indicators or intent.signals or intent.extras:
            features = {
                "indicators": dict(intent.indicators or {}),
                "signals": dict(intent.signals or {}),
                "extras": dict(intent.extras or {}),
            }
        order = len(self._book.entries)
        self._book.entries[intent.client_req_id] = _Entry(row, features, order=order)

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
        check_transition(source, target)
        return self._move(client_req_id, source, target, at_ts, reason, broker_order_id) is not None

    def update(
        self,
        client_req_id: str,
        *,
        broker_order_id: str | None = None,
        retry_count: int | None = None,
    ) -> None:
        entry = self._entry(client_req_id)
        row = entry.row
        row["updated_at"] = datetime.now(UTC)
        row["version"] += 1
        if broker_order_id is not None:
            self._set_broker(client_req_id, row, broker_order_id)
        if retry_count is not None:
            row["retry_count"] = retry_count

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
        check_transition(source, target)
        if not target.is_terminal:
            raise InvalidTransition(source, target)
        reason = result.reason if target is OrderState.FAILED else None
        entry = self._move(client_req_id, source, target, at_ts, reason, broker_order_id)
        if entry is None:
            return False

        def when(ts: float | None) -> datetime | None:
            return None if ts is None else to_datetime(ts)

        entry.result = {
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
        return True

    def adopt(self, broker_order: BrokerOrder, *, timeframe: str, at_ts: float) -> JournalOrder:
        raise RuntimeError("a backtest starts from an empty book: there is nothing to adopt")

    def record_alarm(self, level: AlarmLevel, code: str, message: str, scope: str) -> None:
        self._book.alarms.append(
            {
                "ts": datetime.now(UTC),
                "level": level,
                "code": code,
                "message": message,
                "scope": scope,
            }
        )

    # -- reads ------------------------------------------------------------------------

    def get(self, client_req_id: str) -> JournalOrder | None:
        entry = self._book.entries.get(client_req_id)
        return None if entry is None else _view(entry.row)

    def get_by_broker_id(self, broker_order_id: str) -> JournalOrder | None:
        client_req_id = self._book.by_broker.get(broker_order_id)
        return None if client_req_id is None else self.get(client_req_id)

    def non_terminal(self) -> list[JournalOrder]:
        return [
            _view(entry.row)
            for entry in self._book.entries.values()
            if not OrderState(entry.row["state"]).is_terminal
        ]

    # -- storage ----------------------------------------------------------------------

    def close(self) -> None:
        """Write everything to storage (see :meth:`flush`), then release the connection."""
        self.flush()
        super().close()

    def flush(self) -> int:
        """Insert the orders (with features and results) and alarms not written yet, in
        one transaction; returns how many orders were written."""
        entries = sorted(self._book.entries.values(), key=lambda e: e.order)
        if not entries and not self._book.alarms:
            return 0
        with translate_storage_errors(), self.engine.begin() as connection:
            if entries:
                before = connection.execute(select(func.max(_ORDERS.c.id))).scalar() or 0
                keys = {key for e in entries for key in e.row}
                rows = [{key: e.row.get(key) for key in keys} for e in entries]
                for row in rows:
                    row["client_req_id"] = self.id_prefix + str(row["client_req_id"])
                connection.execute(insert(_ORDERS), rows)
                fresh = connection.execute(
                    select(_ORDERS.c.client_req_id, _ORDERS.c.id).where(_ORDERS.c.id > before)
                )
                ids = {str(cid): int(oid) for cid, oid in fresh}
                features = [
                    {"order_id": ids[self.id_prefix + e.row["client_req_id"]], **e.features}
                    for e in entries
                    if e.features is not None
                ]
                results = [
                    {"order_id": ids[self.id_prefix + e.row["client_req_id"]], **e.result}
                    for e in entries
                    if e.result is not None
                ]
                if features:
                    connection.execute(insert(_FEATURES), features)
                if results:
                    connection.execute(insert(_RESULTS), results)
            if self._book.alarms:
                connection.execute(insert(_ALARMS), self._book.alarms)
        written = len(entries)
        self.flushed += written
        self._book = _Book()
        return written

    # -- internals --------------------------------------------------------------------

    def _entry(self, client_req_id: str) -> _Entry:
        try:
            return self._book.entries[client_req_id]
        except KeyError:
            raise KeyError(f"no stored order {client_req_id!r}") from None

    def _set_broker(self, client_req_id: str, row: dict[str, Any], broker_order_id: str) -> None:
        row["broker_order_id"] = broker_order_id
        self._book.by_broker[broker_order_id] = client_req_id

    def _move(  # type: ignore[override]
        self,
        client_req_id: str,
        source: OrderState,
        target: OrderState,
        at_ts: float,
        reason: str | None,
        broker_order_id: str | None,
    ) -> _Entry | None:
        entry = self._entry(client_req_id)
        row = entry.row
        stored = OrderState(row["state"])
        if stored != source:
            if stored == target:
                return None
            raise StateMismatch(
                f"{client_req_id}: stored state {stored.value}, expected {source.value}"
            )
        at = to_datetime(at_ts)
        row["state"] = target
        row["updated_at"] = at
        row["version"] += 1
        if reason is not None:
            row["failure_reason"] = reason
        if broker_order_id is not None:
            self._set_broker(client_req_id, row, broker_order_id)
        column = repo.TRANSITION_TIMESTAMPS.get(target)
        if column is not None:
            row[column] = at
        return entry
