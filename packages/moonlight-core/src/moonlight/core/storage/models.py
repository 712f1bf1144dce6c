"""MoonLight's tables as SQLAlchemy 2 typed mappings.

Conventions: every timestamp is an aware UTC datetime (:class:`UTCDateTime`); money is
:data:`Money` (exact in the database, float in Python); percentages end in ``_pct`` and
are percent of stake (82.0 means a winning stake of 10 earns 8.20); durations end in
``_s``, latencies in ``_ms``. Enums are stored as their string values with a CHECK
constraint (no native PostgreSQL enum types, so migrations stay plain). The schema is
created and changed only by the Alembic migrations in ``storage/migrations``; a test
checks that autogenerate finds no difference between them and these models.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from moonlight.core.events import AlarmLevel, utc_now
from moonlight.core.orders import Direction, OrderState, Outcome
from moonlight.core.storage.base import Base
from moonlight.core.storage.types import JSONDoc, Money, UTCDateTime, json_default_dict


class MetricScope(enum.StrEnum):
    """What a metric row is about: everything, one account, one product, one timeframe."""

    GLOBAL = "global"
    ACCOUNT = "acc"
    PRODUCT = "prod"
    TIMEFRAME = "tf"


class RunKind(enum.StrEnum):
    """What produced a run: live trading, paper trading or a backtest."""

    LIVE = "live"
    PAPER = "paper"
    BACKTEST = "backtest"


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """A VARCHAR + CHECK column type storing the members' values."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


# --------------------------------------------------------------------------- runs


class Run(Base):
    """One engine or backtest run; orders made during it point at it."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[RunKind] = mapped_column(_enum(RunKind, "run_kind"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    config: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)

    __table_args__ = (Index(None, "kind", "started_at"),)


# ------------------------------------------------------------------------- orders


class Order(Base):
    """One trading decision turned into an order, with a timestamp per FSM transition."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_req_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(16))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    stake: Mapped[float] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(8))
    duration_s: Mapped[int] = mapped_column(Integer)
    payout_pct: Mapped[float] = mapped_column(Double, doc="Payout at decision, percent.")
    score: Mapped[float | None] = mapped_column(Double, doc="Ensemble score S in [-1, 1].")
    p_hat: Mapped[float | None] = mapped_column(Double, doc="Calibrated probability p̂.")
    state: Mapped[OrderState] = mapped_column(
        _enum(OrderState, "order_state"), default=OrderState.IDLE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    prepared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(
        String(64), doc="The broker's stable refusal code (Rejected.code) of a FAILED order."
    )
    broker_order_id: Mapped[str | None] = mapped_column(String(128), index=True)
    strategy_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(
        Integer, doc="Optimistic lock: an ORM update of a stale copy raises StaleDataError."
    )

    result: Mapped[Result | None] = relationship(
        back_populates="order", uselist=False, cascade="all, delete-orphan"
    )
    features: Mapped[Feature | None] = relationship(
        back_populates="order", uselist=False, cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index(None, "state"),
        Index(None, "account_id", "created_at"),
        Index(None, "instrument", "timeframe", "created_at"),
        Index(None, "created_at"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy API)


class Result(Base):
    """How an order ended, with prices and the latency of each executor stage."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome, "outcome"))
    pnl: Mapped[float] = mapped_column(Money, doc="Profit (+) or loss (-) in account currency.")
    entry_price: Mapped[float | None] = mapped_column(Double)
    exit_price: Mapped[float | None] = mapped_column(Double)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    latency_decision_to_send_ms: Mapped[float | None] = mapped_column(Double)
    latency_send_to_ack_ms: Mapped[float | None] = mapped_column(Double)
    latency_expiry_to_settlement_ms: Mapped[float | None] = mapped_column(Double)
    reason: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="result")

    __table_args__ = (Index(None, "settled_at"),)


class Feature(Base):
    """What the decision saw: indicator values, strategy signals, free-form extras."""

    __tablename__ = "features"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    indicators: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)
    signals: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)
    extras: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)

    order: Mapped[Order] = relationship(back_populates="features")


# ------------------------------------------------------------- telemetry and caches


class Metric(Base):
    """One sampled value of a named metric for a scope (global, account, product, tf)."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    name: Mapped[str] = mapped_column(String(128))
    scope: Mapped[MetricScope] = mapped_column(
        _enum(MetricScope, "metric_scope"), default=MetricScope.GLOBAL
    )
    scope_key: Mapped[str | None] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Double)

    __table_args__ = (Index(None, "name", "ts"), Index(None, "scope", "scope_key", "name"))


class InstrumentCache(Base):
    """The last instrument description a connector reported (payout, limits, hours)."""

    __tablename__ = "instrument_cache"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(64))
    payout_pct: Mapped[float | None] = mapped_column(Double)
    allowed_durations_s: Mapped[list[int]] = mapped_column(JSONDoc, default=list)
    stake_min: Mapped[float | None] = mapped_column(Money)
    stake_max: Mapped[float | None] = mapped_column(Money)
    trading_hours: Mapped[Any] = mapped_column(JSONDoc, nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (UniqueConstraint("connector", "instrument"),)


# -------------------------------------------------------------------- paper broker


class PaperAccount(Base):
    """The paper broker's persisted balance for one account."""

    __tablename__ = "paper_accounts"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(8))
    balance: Mapped[float] = mapped_column(Money)
    start_of_day_balance: Mapped[float] = mapped_column(Money)
    day_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class PaperContract(Base):
    """One fixed-time contract held by the paper broker, open or settled."""

    __tablename__ = "paper_contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_req_id: Mapped[str] = mapped_column(String(64), unique=True)
    broker_order_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("paper_accounts.account_id", ondelete="CASCADE")
    )
    instrument: Mapped[str] = mapped_column(String(64))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    stake: Mapped[float] = mapped_column(Money)
    payout_pct: Mapped[float] = mapped_column(Double)
    duration_s: Mapped[int] = mapped_column(Integer)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_price: Mapped[float | None] = mapped_column(Double)
    exit_price: Mapped[float | None] = mapped_column(Double)
    outcome: Mapped[Outcome | None] = mapped_column(_enum(Outcome, "outcome"))
    pnl: Mapped[float | None] = mapped_column(Money)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "account_id", "settled_at"), Index(None, "expires_at"))


# ------------------------------------------------------------ engine and operators


class EngineState(Base):
    """Persisted guard and kill-switch state, keyed like ``killswitch:global``."""

    __tablename__ = "engine_state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONDoc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
    updated_by: Mapped[str] = mapped_column(String(128), default="engine")


class Alarm(Base):
    """An alarm that was raised (also published as an ``AlarmRaised`` event)."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    level: Mapped[AlarmLevel] = mapped_column(_enum(AlarmLevel, "alarm_level"))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(128), default="global")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "ts"), Index(None, "level", "ts"))


class Calibration(Base):
    """One Platt fit p̂ = 1 / (1 + exp(a·S + b)); instrument/timeframe NULL = global."""

    __tablename__ = "calibrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instrument: Mapped[str | None] = mapped_column(String(64))
    timeframe: Mapped[str | None] = mapped_column(String(16))
    a: Mapped[float] = mapped_column(Double)
    b: Mapped[float] = mapped_column(Double)
    n_samples: Mapped[int] = mapped_column(Integer)
    data_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)
    #: The run whose walk-forward refit produced the fit (NULL: ``moonlight calibrate``).
    run_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index(None, "instrument", "timeframe", "created_at"),)


class Decision(Base):
    """One ensemble decision -- traded or not -- with its shadow outcome at expiry.

    ``action`` is ``traded``, ``refused`` (a risk rule, ``reason`` names it),
    ``below_threshold`` (p̂ under the threshold or break-even), ``no_direction`` (S = 0)
    or ``not_sent`` (trading halted). ``outcome`` is ``up``, ``down`` or ``push``: where
    the price ended at ``expires_at`` relative to ``entry_price``, by the paper broker's
    bar-close rule; NULL when the history ended first. ``exploration`` marks a trade made
    on the exploration prior (never counted in a reported edge).
    """

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[float] = mapped_column(Double)
    confidence: Mapped[float] = mapped_column(Double)
    direction: Mapped[str] = mapped_column(String(8))
    p_hat: Mapped[float] = mapped_column(Double)
    calibrated: Mapped[bool] = mapped_column(Boolean)
    exploration: Mapped[bool] = mapped_column(Boolean)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    payout_pct: Mapped[float | None] = mapped_column(Double)
    client_req_id: Mapped[str | None] = mapped_column(String(64))
    signals: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)
    features: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)
    entry_price: Mapped[float] = mapped_column(Double)
    exit_price: Mapped[float | None] = mapped_column(Double)
    outcome: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (
        Index(None, "instrument", "timeframe", "decided_at"),
        Index(None, "run_id", "decided_at"),
    )


class AuditLog(Base):
    """Who changed what at run time (overrides, kill-switch, guard resets)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)

    __table_args__ = (Index(None, "ts"),)


class LearnedModel(Base):
    """One trained model of a learned strategy (the model registry; files beside the data).

    ``path`` is the model's directory (ONNX file and model card); ``promoted_at`` is set
    on the version the strategy serves, NULL on candidates and retired versions.
    """

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    learner: Mapped[str] = mapped_column(String(64))
    feature_spec: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)
    feature_spec_version: Mapped[int] = mapped_column(Integer)
    feature_fingerprint: Mapped[str] = mapped_column(String(32))
    data_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    libraries: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=json_default_dict)
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("name", "version"),)
