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

It satisfies the same :class:`~moonlight.core.execution.journal.Journal` protocol as the
stored journal and builds its rows with the same functions, so a backtest stores exactly
the rows a live run would.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager, nullcontext
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
    ResultRecord,
    StateMismatch,
    alarm_row,
    feature_row,
    journal_order,
    order_row,
    result_row,
    to_datetime,
)
from moonlight.core.orders import OrderState
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


class MemoryJournal:
    """A :class:`~moonlight.core.execution.journal.Journal` in memory; see the module
    docstring."""

    def __init__(self, engine: Engine, *, id_prefix: str = "") -> None:
        self.engine = engine
        self.id_prefix = id_prefix
        self._book = _Book()
        self.flushed = 0

    # -- writes -----------------------------------------------------------------------

    def create(self, intent: OrderIntent, *, at_ts: float) -> None:
        check_transition(OrderState.IDLE, OrderState.PREPARE)
        if intent.client_req_id in self._book.entries:
            raise repo.DuplicateOrderError(intent.client_req_id)
        row = order_row(intent, at_ts=at_ts)
        features = feature_row(intent)
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
        """Record the terminal move and its result now (memory has no instant to wait
        for); a done future, True as the stored journal answers."""
        check_transition(source, target)
        if not target.is_terminal:
            raise InvalidTransition(source, target)
        reason = result.reason if target is OrderState.FAILED else None
        entry = self._move(client_req_id, source, target, at_ts, reason, broker_order_id)
        if entry is not None:
            entry.result = result_row(result)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        future.set_result(True)
        return future

    def bookkeeping(self) -> AbstractContextManager[None]:
        """Nothing to group: every write here is already in memory."""
        return nullcontext()

    def adopt(self, broker_order: BrokerOrder, *, timeframe: str, at_ts: float) -> JournalOrder:
        raise RuntimeError("a backtest starts from an empty book: there is nothing to adopt")

    def probe(self, *, at_ts: float) -> None:
        """Memory always takes writes: nothing to probe."""

    def record_alarm(self, level: AlarmLevel, code: str, message: str, scope: str) -> None:
        self._book.alarms.append(alarm_row(level, code, message, scope))

    # -- reads ------------------------------------------------------------------------

    def get(self, client_req_id: str) -> JournalOrder | None:
        entry = self._book.entries.get(client_req_id)
        return None if entry is None else journal_order(entry.row)

    def get_by_broker_id(self, broker_order_id: str) -> JournalOrder | None:
        client_req_id = self._book.by_broker.get(broker_order_id)
        return None if client_req_id is None else self.get(client_req_id)

    def non_terminal(self) -> list[JournalOrder]:
        return [
            journal_order(entry.row)
            for entry in self._book.entries.values()
            if not OrderState(entry.row["state"]).is_terminal
        ]

    # -- storage ----------------------------------------------------------------------

    def close(self) -> None:
        """Write everything to storage (see :meth:`flush`)."""
        self.flush()

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

    def _move(
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
