"""The parts of the server's API answers the console reads, as typed models.

These mirror ``moonlight.server.schemas`` from the outside: the console imports nothing
from the server or the engine. Unknown fields are ignored, so a newer server with more
fields still works; a missing or mistyped field the console relies on fails loudly in
:mod:`moonlight.console.api`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_READ = ConfigDict(frozen=True, extra="ignore")

OPEN_STATES = frozenset({"IDLE", "PREPARE", "SEND", "CONFIRM"})
"""Order states before settlement or failure."""


class Engagement(BaseModel):
    model_config = _READ
    reason: str
    by: str
    at: datetime


class KillSwitch(BaseModel):
    model_config = _READ
    global_engagement: Engagement | None
    accounts: dict[str, Engagement]

    @property
    def engaged(self) -> bool:
        """True while the global switch stops all trading."""
        return self.global_engagement is not None


class Restriction(BaseModel):
    model_config = _READ
    guard: str
    effect: str
    reason: str
    scope: str
    scope_key: str
    until: datetime | None
    detail: str


class ConnectorHealth(BaseModel):
    model_config = _READ
    connector: str
    trading_allowed: bool
    halted_reason: str | None
    storage_healthy: bool
    circuit: str
    instruments: int
    instruments_age_s: float | None


class Account(BaseModel):
    model_config = _READ
    id: str
    mode: str
    currency: str
    balance: float
    trading_state: str
    restrictions: list[Restriction]
    connector: ConnectorHealth
    orders_submitted: int
    workers: dict[str, int]


class EngineInfo(BaseModel):
    model_config = _READ
    state: str
    started_at: datetime | None
    uptime_s: float | None
    clock_time: datetime
    simulated_clock: bool


class WorkerSummary(BaseModel):
    model_config = _READ
    total: int
    by_state: dict[str, int]


class Status(BaseModel):
    """GET /status."""

    model_config = _READ
    version: str
    engine: EngineInfo
    kill_switch: KillSwitch
    accounts: list[Account]
    workers: WorkerSummary
    guards: list[str]


class Worker(BaseModel):
    model_config = _READ
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


class WorkerChange(BaseModel):
    model_config = _READ
    changed: list[str]
    unknown: list[str]


class Order(BaseModel):
    """One order as the console shows it (from GET /orders or the WebSocket)."""

    model_config = _READ
    client_req_id: str
    account_id: str
    instrument: str
    timeframe: str = ""
    direction: str | None = None
    stake: float | None = None
    currency: str = ""
    duration_s: int | None = None
    p_hat: float | None = None
    state: str
    created_at: datetime | None = None
    confirmed_at: datetime | None = None
    settled_at: datetime | None = None
    outcome: str | None = None
    pnl: float | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Result(BaseModel):
    """A settled order's result (GET /results); the P&L chart's points."""

    model_config = _READ
    client_req_id: str
    account_id: str
    instrument: str
    outcome: str
    pnl: float
    settled_at: datetime


class Alarm(BaseModel):
    model_config = _READ
    id: int | None = None
    ts: datetime
    level: str
    code: str
    message: str
    scope: str = "global"


class ReliabilityBin(BaseModel):
    model_config = _READ
    lower: float
    upper: float
    count: int
    mean_predicted: float
    observed: float


class CalibrationRow(BaseModel):
    model_config = _READ
    instrument: str
    samples: int
    base_rate: float
    brier: float
    ece: float
    bins: list[ReliabilityBin]


class Calibration(BaseModel):
    """GET /calibration."""

    model_config = _READ
    bins: int
    overall: CalibrationRow | None
    instruments: list[CalibrationRow]


class Overrides(BaseModel):
    """GET/PUT /overrides."""

    model_config = _READ
    overrides: dict[str, Any]
    updated_at: datetime | None
    updated_by: str | None
    applies: str = "next_start"


class Page(BaseModel):
    """The envelope of a listing; ``items`` are parsed by the caller."""

    model_config = _READ
    items: list[dict[str, Any]]
    total: int


class FieldProblem(BaseModel):
    """One entry of a 422 answer: where (dotted path) and what is wrong."""

    model_config = _READ
    path: str
    message: str


class LiveMessage(BaseModel):
    """One WebSocket message: ``{"type": ..., "seq": n, "data": {...}}``."""

    model_config = _READ
    type: str
    seq: int = 0
    data: dict[str, Any] = Field(default_factory=dict)
