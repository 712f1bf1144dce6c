"""Small typed reads and writes that the executor, paper broker, risk and API share.

Every function takes an explicit :class:`~sqlalchemy.orm.Session` and only flushes: the
caller decides when to commit (the executor commits each transition before its next
side effect). Wrap the commit in :func:`~moonlight.core.storage.errors.
translate_storage_errors` to turn disk-full / I/O / locked / read-only failures into
``StorageUnavailable``.

Upserts (instrument cache, engine state) use the backend's ``INSERT ... ON CONFLICT``
so two processes writing the same key never collide, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from moonlight.core.events import AlarmLevel, utc_now
from moonlight.core.orders import OrderState
from moonlight.core.storage.models import (
    Alarm,
    AuditLog,
    Calibration,
    EngineState,
    InstrumentCache,
    Metric,
    MetricScope,
    Order,
    Result,
    Run,
    RunKind,
)

NON_TERMINAL_STATES: tuple[OrderState, ...] = tuple(s for s in OrderState if not s.is_terminal)
"""States an order can still leave; these are reconciled at start-up."""

TRANSITION_TIMESTAMPS: Mapping[OrderState, str] = {
    OrderState.PREPARE: "prepared_at",
    OrderState.SEND: "sent_at",
    OrderState.CONFIRM: "confirmed_at",
    OrderState.SETTLED: "settled_at",
    OrderState.FAILED: "failed_at",
}
"""The column that records when an order entered each state (IDLE: ``created_at``)."""


class DuplicateOrderError(Exception):
    """An order with this client_req_id already exists; the decision was already taken.

    The session's transaction is no longer usable: roll it back.
    """

    def __init__(self, client_req_id: str) -> None:
        super().__init__(f"an order with client_req_id {client_req_id!r} already exists")
        self.client_req_id = client_req_id


# ------------------------------------------------------------------------- orders


def find_order(session: Session, client_req_id: str) -> Order | None:
    """The order with this client_req_id, or None."""
    return session.scalars(select(Order).where(Order.client_req_id == client_req_id)).first()


def find_order_by_broker_id(session: Session, broker_order_id: str) -> Order | None:
    """The order the broker knows under ``broker_order_id``, or None."""
    statement = select(Order).where(Order.broker_order_id == broker_order_id)
    return session.scalars(statement).first()


def non_terminal_orders(session: Session, *, account_id: str | None = None) -> list[Order]:
    """Orders not yet SETTLED or FAILED (oldest first), optionally for one account."""
    statement = select(Order).where(Order.state.in_(NON_TERMINAL_STATES))
    if account_id is not None:
        statement = statement.where(Order.account_id == account_id)
    return list(session.scalars(statement.order_by(Order.created_at, Order.id)))


def day_pnl(
    session: Session,
    account_id: str,
    *,
    since: datetime,
    until: datetime,
    run_id: str | None = None,
) -> float:
    """Net P&L of the account's results settled in ``[since, until)`` (live orders when
    ``run_id`` is None, else that run's): what the day's figures are derived from."""
    run = Order.run_id.is_(None) if run_id is None else Order.run_id == run_id
    total = session.scalar(
        select(func.coalesce(func.sum(Result.pnl), 0))
        .join(Result.order)
        .where(
            Order.account_id == account_id,
            run,
            Result.settled_at >= since,
            Result.settled_at < until,
        )
    )
    return float(total or 0)


def recent_orders(
    session: Session, *, limit: int = 100, account_id: str | None = None
) -> list[Order]:
    """The newest orders first (what the dashboard and API list)."""
    statement = select(Order)
    if account_id is not None:
        statement = statement.where(Order.account_id == account_id)
    statement = statement.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)
    return list(session.scalars(statement))


# ------------------------------------------------------------- telemetry and caches


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One metric value to store."""

    name: str
    value: float
    scope: MetricScope = MetricScope.GLOBAL
    scope_key: str | None = None
    ts: datetime = field(default_factory=utc_now)


def insert_metrics(session: Session, samples: Iterable[MetricSample]) -> int:
    """Insert many metric samples in one statement; return how many."""
    rows = [
        {
            "ts": sample.ts,
            "name": sample.name,
            "scope": MetricScope(sample.scope),
            "scope_key": sample.scope_key,
            "value": float(sample.value),
        }
        for sample in samples
    ]
    if rows:
        session.execute(insert(Metric), rows)
    return len(rows)


def upsert_instrument(
    session: Session,
    *,
    connector: str,
    instrument: str,
    payout_pct: float | None,
    allowed_durations_s: Sequence[int],
    stake_min: float | None,
    stake_max: float | None,
    trading_hours: Any = None,
    details: dict[str, Any] | None = None,
    fetched_at: datetime | None = None,
) -> InstrumentCache:
    """Insert or replace the cached description of (connector, instrument)."""
    values = {
        "connector": connector,
        "instrument": instrument,
        "payout_pct": payout_pct,
        "allowed_durations_s": [int(d) for d in allowed_durations_s],
        "stake_min": stake_min,
        "stake_max": stake_max,
        "trading_hours": trading_hours,
        "details": details,
        "fetched_at": fetched_at or utc_now(),
    }
    statement = _upsert(
        session, InstrumentCache, values, conflict=("connector", "instrument")
    ).returning(InstrumentCache)
    return session.scalars(statement, execution_options={"populate_existing": True}).one()


def cached_instruments(session: Session, connector: str) -> list[InstrumentCache]:
    """Every cached instrument of one connector, by name."""
    statement = select(InstrumentCache).where(InstrumentCache.connector == connector)
    return list(session.scalars(statement.order_by(InstrumentCache.instrument)))


# ------------------------------------------------------------ engine and operators


def get_engine_state(session: Session, key: str) -> Any | None:
    """The persisted value under ``key`` (e.g. ``killswitch:global``), or None."""
    row = session.get(EngineState, key, populate_existing=True)
    return None if row is None else row.value


def engine_states(session: Session, prefix: str = "") -> dict[str, Any]:
    """Every persisted state whose key starts with ``prefix``."""
    statement = select(EngineState).where(EngineState.key.startswith(prefix, autoescape=True))
    return {row.key: row.value for row in session.scalars(statement)}


def set_engine_state(
    session: Session, key: str, value: Any, *, updated_by: str = "engine"
) -> EngineState:
    """Persist ``value`` under ``key`` (insert or replace)."""
    values = {"key": key, "value": value, "updated_at": utc_now(), "updated_by": updated_by}
    statement = _upsert(session, EngineState, values, conflict=("key",)).returning(EngineState)
    return session.scalars(statement, execution_options={"populate_existing": True}).one()


def record_alarm(
    session: Session, *, level: AlarmLevel, code: str, message: str, scope: str = "global"
) -> Alarm:
    """Store an alarm that was raised."""
    alarm = Alarm(level=AlarmLevel(level), code=code, message=message, scope=scope)
    session.add(alarm)
    session.flush()
    return alarm


def record_audit(
    session: Session, *, actor: str, action: str, detail: Mapping[str, Any] | None = None
) -> AuditLog:
    """Store who changed what at run time."""
    entry = AuditLog(actor=actor, action=action, detail=dict(detail or {}))
    session.add(entry)
    session.flush()
    return entry


def start_run(
    session: Session, *, run_id: str, kind: RunKind, config: Mapping[str, Any] | None = None
) -> Run:
    """Record the start of a live, paper or backtest run."""
    run = Run(id=run_id, kind=RunKind(kind), config=dict(config or {}))
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run: Run, *, summary: Mapping[str, Any] | None = None) -> Run:
    """Record the end of a run and its summary."""
    run.finished_at = utc_now()
    run.summary = dict(summary or {})
    session.flush()
    return run


def latest_calibration(
    session: Session, *, instrument: str | None = None, timeframe: str | None = None
) -> Calibration | None:
    """The newest fit for exactly this (instrument, timeframe); None/None is the global fit."""
    statement = select(Calibration).where(
        Calibration.instrument.is_(None)
        if instrument is None
        else Calibration.instrument == instrument,
        Calibration.timeframe.is_(None)
        if timeframe is None
        else Calibration.timeframe == timeframe,
    )
    statement = statement.order_by(Calibration.created_at.desc(), Calibration.id.desc()).limit(1)
    return session.scalars(statement).first()


# ----------------------------------------------------------------------- helpers


def _upsert(
    session: Session, model: type[Any], values: dict[str, Any], *, conflict: tuple[str, ...]
) -> Insert:
    update = {k: v for k, v in values.items() if k not in conflict}
    statement = upsert(session.get_bind().dialect.name, model)
    return statement.values(values).on_conflict_do_update(
        index_elements=list(conflict), set_=update
    )


def upsert(dialect: str, model: Any) -> sqlite.Insert | postgresql.Insert:
    """``INSERT`` of ``model`` (a mapped class or table) in ``dialect``'s flavour, which
    has ``on_conflict_do_update`` (SQLite and PostgreSQL only)."""
    if dialect == "sqlite":
        return sqlite.insert(model)
    if dialect == "postgresql":
        return postgresql.insert(model)
    raise ValueError(f"MoonLight storage supports SQLite and PostgreSQL, not {dialect!r}")


def upsert_rows(
    dialect: str, model: Any, *, conflict: tuple[str, ...], columns: tuple[str, ...]
) -> Insert:
    """An upsert to run with many rows (executemany): on a conflict on ``conflict`` the
    ``columns`` take the new row's values."""
    statement = upsert(dialect, model)
    return statement.on_conflict_do_update(
        index_elements=list(conflict),
        set_={column: statement.excluded[column] for column in columns},
    )
