"""Typed request and response bodies of the REST API (they make the OpenAPI schema).

Times are ISO-8601 UTC. Times of trading events (orders, results, guards) are the
engine clock's, which is simulated when the engine runs on a simulated clock; money is
in the account currency; durations end in ``_s`` and latencies in ``_ms``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

_OUT = ConfigDict(frozen=True)
_IN = ConfigDict(frozen=True, extra="forbid")

PRINTABLE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
"""Text with no control characters and not only blanks (names, reasons)."""
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$"
"""Identifiers: account ids, instruments, worker labels, client request ids."""

OPERATOR = Field(
    min_length=1,
    max_length=128,
    pattern=PRINTABLE,
    description="Name of the person making the change (stored in the audit log).",
)


# ------------------------------------------------------------------------- status


class Engagement(BaseModel):
    """A kill-switch engagement: why, by whom, when (engine clock)."""

    model_config = _OUT
    reason: str
    by: str
    at: datetime


class KillSwitchState(BaseModel):
    """The global kill-switch and every engaged account switch."""

    model_config = _OUT
    global_engagement: Engagement | None = Field(description="Set while trading is stopped.")
    accounts: dict[str, Engagement] = Field(description="Engaged account switches by id.")


class Restriction(BaseModel):
    """One active restriction of an account by a guard (kill-switch, breaker, caps...)."""

    model_config = _OUT
    guard: str
    effect: Literal["halt", "reduce"]
    reason: str
    scope: str
    scope_key: str
    until: datetime | None
    detail: str


class ConnectorHealth(BaseModel):
    """What the server can tell about an account's broker connection."""

    model_config = _OUT
    connector: str
    trading_allowed: bool = Field(
        description="New orders may be opened: false exactly when trading_state is HALTED"
        " (both derive from the same restrictions, the executor's halt included)."
    )
    halted_reason: str | None
    storage_healthy: bool
    circuit: Literal["CLOSED", "OPEN", "HALF_OPEN"] = Field(
        description="Circuit breaker phase derived from the account's restrictions."
    )
    instruments: int = Field(description="Instruments the connector reported.")
    instruments_age_s: float | None = Field(description="Age of the instrument list.")


class AccountStatus(BaseModel):
    """One account: mode, balance, trading state with its reasons, connector health."""

    model_config = _OUT
    id: str
    mode: Literal["paper", "demo", "live"]
    currency: str
    balance: float
    trading_state: Literal["ACTIVE", "REDUCING", "HALTED"]
    restrictions: list[Restriction]
    connector: ConnectorHealth
    orders_submitted: int
    workers: dict[str, int] = Field(description="Workers of the account by state.")


class EngineInfo(BaseModel):
    """The engine process: life-cycle state and clocks."""

    model_config = _OUT
    state: Literal["starting", "running", "stopping", "stopped"]
    started_at: datetime | None
    uptime_s: float | None
    clock_time: datetime = Field(description="The engine clock's current time.")
    simulated_clock: bool


class WorkerSummary(BaseModel):
    model_config = _OUT
    total: int
    by_state: dict[str, int]


class AccountHalt(BaseModel):
    """An account held HALTED by the engine, with a stable code and the reason."""

    model_config = _OUT
    account_id: str
    code: str
    reason: str
    since: datetime


class StatusOut(BaseModel):
    """GET /status: everything the dashboard header shows."""

    model_config = _OUT
    version: str
    engine: EngineInfo
    kill_switch: KillSwitchState
    accounts: list[AccountStatus]
    workers: WorkerSummary
    guards: list[str] = Field(description="Configured guards, in check order.")
    halted_accounts: list[AccountHalt] = Field(
        default_factory=list,
        description="Accounts the engine holds HALTED (start failed, mode contradicted),"
        " including those that never started and so are not in ``accounts``.",
    )


class HealthOut(BaseModel):
    """GET /health: liveness for supervisors (no data, no authentication)."""

    model_config = _OUT
    status: Literal["ok", "stopping"]


# ------------------------------------------------------------------------ workers


class WorkerOut(BaseModel):
    """One worker (account × instrument × timeframe)."""

    model_config = _OUT
    label: str
    account_id: str
    instrument: str
    timeframe: str
    state: str
    paused: bool
    bars_seen: int
    decisions: int
    stale_bars: int
    failures: int
    last_bar_end: datetime | None


class WorkerSelection(BaseModel):
    """Which workers to pause or resume: labels, every worker of accounts, or all."""

    model_config = _IN
    # bounded so that a valid selection always fits in plugins.server.max_body_bytes
    labels: list[Annotated[str, Field(max_length=200, pattern=NAME)]] = Field(
        default_factory=list, max_length=250
    )
    accounts: list[Annotated[str, Field(max_length=64, pattern=NAME)]] = Field(
        default_factory=list, max_length=100
    )
    all: bool = False
    operator: str = OPERATOR


class WorkerChange(BaseModel):
    model_config = _OUT
    changed: list[str]
    unknown: list[str]


# ---------------------------------------------------------------------- kill-switch


class KillSwitchEngage(BaseModel):
    """Engage the global kill-switch (``account_id`` null) or one account's."""

    model_config = _IN
    operator: str = OPERATOR
    reason: str = Field(
        min_length=1, max_length=500, pattern=PRINTABLE, description="Why trading stops."
    )
    account_id: str | None = Field(default=None, max_length=64, pattern=NAME)


class AccountCommand(BaseModel):
    """A command for every account (``account_id`` null) or one, by a named person."""

    model_config = _IN
    operator: str = OPERATOR
    account_id: str | None = Field(default=None, max_length=64, pattern=NAME)


class KillSwitchReArm(AccountCommand):
    """Re-arm (lift) the global kill-switch or one account's; a person's name is needed."""


class KillSwitchChange(BaseModel):
    model_config = _OUT
    changed: bool = Field(description="False when it already was in the requested state.")
    kill_switch: KillSwitchState


# ------------------------------------------------------------------------ trading


class TradingResume(AccountCommand):
    """Resume trading after an executor halt (storage fault): every account, or one."""


class TradingResumeOut(BaseModel):
    model_config = _OUT
    resumed: list[str] = Field(description="Accounts that trade again.")
    refused: dict[str, str] = Field(description="Halted accounts still halted, with why.")


# -------------------------------------------------------------------- orders, results


class Page(BaseModel, Generic[T]):
    """One page of a filtered, newest-first listing."""

    model_config = _OUT
    items: list[T]
    total: int
    limit: int
    offset: int


class OrderOut(BaseModel):
    model_config = _OUT
    id: int
    client_req_id: str
    account_id: str
    instrument: str
    timeframe: str
    direction: Literal["up", "down"]
    stake: float
    currency: str
    duration_s: int
    payout_pct: float
    score: float | None
    p_hat: float | None
    state: Literal["IDLE", "PREPARE", "SEND", "CONFIRM", "SETTLED", "FAILED"]
    created_at: datetime
    prepared_at: datetime | None
    sent_at: datetime | None
    confirmed_at: datetime | None
    settled_at: datetime | None
    failed_at: datetime | None
    failure_reason: str | None
    broker_order_id: str | None
    retry_count: int
    run_id: str | None
    outcome: Literal["win", "lose", "push", "abort"] | None
    pnl: float | None


class ResultOut(BaseModel):
    model_config = _OUT
    order_id: int
    client_req_id: str
    account_id: str
    instrument: str
    timeframe: str
    direction: Literal["up", "down"]
    stake: float
    outcome: Literal["win", "lose", "push", "abort"]
    pnl: float
    entry_price: float | None
    exit_price: float | None
    opened_at: datetime | None
    expires_at: datetime | None
    settled_at: datetime
    latency_decision_to_send_ms: float | None
    latency_send_to_ack_ms: float | None
    latency_expiry_to_settlement_ms: float | None
    reason: str | None


class FeaturesOut(BaseModel):
    """What a decision saw: indicator values, strategy signals, ensemble snapshot."""

    model_config = _OUT
    client_req_id: str
    indicators: dict[str, Any]
    signals: dict[str, Any]
    extras: dict[str, Any]
    strategy_snapshot: dict[str, Any] | None


class AlarmOut(BaseModel):
    model_config = _OUT
    id: int
    ts: datetime
    level: Literal["critical", "warning", "info"]
    code: str
    message: str
    scope: str


# ------------------------------------------------------------------ metrics summary


class PnlRow(BaseModel):
    """P&L and counts of one group (a day, an account or an instrument)."""

    model_config = _OUT
    key: str
    orders: int
    wins: int
    losses: int
    pushes: int
    aborts: int
    pnl: float
    win_rate: float | None = Field(description="wins / (wins + losses); null without any.")


class LatencyStats(BaseModel):
    model_config = _OUT
    count: int
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class MetricsSummary(BaseModel):
    """GET /metrics/summary: P&L by day (UTC), account and instrument, latencies."""

    model_config = _OUT
    since: datetime | None
    until: datetime | None
    total: PnlRow
    by_day: list[PnlRow]
    by_account: list[PnlRow]
    by_instrument: list[PnlRow]
    latency: dict[str, LatencyStats] = Field(
        description="Order latency percentiles by stage, from stored results."
    )
    guard_rejects: dict[str, float] = Field(
        description="Decisions refused since start, by reason code."
    )


# ---------------------------------------------------------------------- calibration


class ReliabilityBinOut(BaseModel):
    """One bin of a reliability diagram: predictions in ``[lower, upper)``."""

    model_config = _OUT
    lower: float
    upper: float
    count: int
    mean_predicted: float = Field(description="Mean p̂ of the orders in the bin.")
    observed: float = Field(description="Fraction of them that won.")


class CalibrationRow(BaseModel):
    """How honest p̂ was for one instrument (or ``all``): ECE, Brier, reliability bins."""

    model_config = _OUT
    instrument: str
    samples: int = Field(description="Settled orders with a p̂ and a win or loss.")
    base_rate: float = Field(description="Fraction of those that won.")
    brier: float
    ece: float = Field(description="Expected calibration error over the bins.")
    bins: list[ReliabilityBinOut]


class CalibrationOut(BaseModel):
    """GET /calibration: p̂ against outcomes of the stored orders, per instrument."""

    model_config = _OUT
    bins: int
    overall: CalibrationRow | None = Field(description="Every instrument together.")
    instruments: list[CalibrationRow]


# --------------------------------------------------------------------------- config


class ConfigOut(BaseModel):
    """The configuration in force, secret-looking values replaced by ``<redacted>``."""

    model_config = _OUT
    config: dict[str, Any]


class OverridesIn(BaseModel):
    """Replace the runtime overrides (a partial configuration tree; ``{}`` clears)."""

    model_config = _IN
    operator: str = OPERATOR
    overrides: dict[str, Any]


class OverridesOut(BaseModel):
    model_config = _OUT
    overrides: dict[str, Any]
    updated_at: datetime | None
    updated_by: str | None
    applies: Literal["next_start"] = Field(
        description="Overrides are the top precedence layer from the next engine start."
    )


# -------------------------------------------------------------------------- session


class LoginIn(BaseModel):
    """Exchange a one-time login code, or the API token, for a session cookie."""

    model_config = _IN
    code: str | None = Field(default=None, max_length=256)
    token: str | None = Field(default=None, max_length=256)


class SessionOut(BaseModel):
    model_config = _OUT
    authenticated: bool
