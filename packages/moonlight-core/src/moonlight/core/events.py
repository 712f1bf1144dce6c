"""Events the engine publishes to observers (notifier plugins, the server, telemetry).

Events are named in the past tense and are immutable: an observer can keep them, but
cannot change what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


def utc_now() -> datetime:
    """The current wall-clock time, timezone-aware in UTC."""
    return datetime.now(UTC)


class AlarmLevel(StrEnum):
    """Severity of an alarm, as the seed's monitoring section defines them."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class OrderStateChanged:
    """An order moved from one executor state to another (already persisted)."""

    client_req_id: str
    account_id: str
    instrument: str
    from_state: str
    to_state: str
    reason: str | None = None
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class OrderSettled:
    """An order reached its final outcome (win, lose, push or abort); already stored."""

    client_req_id: str
    account_id: str
    instrument: str
    outcome: str
    pnl: float
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class AlarmRaised:
    """Something an operator should know about, at a given severity."""

    level: AlarmLevel
    code: str
    message: str
    scope: str = "global"
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class EngineStarted:
    """The engine finished start-up (reconciliation included) and may trade."""

    accounts: tuple[str, ...]
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class EngineStopped:
    """The engine stopped; ``reason`` says why (signal, error, request)."""

    reason: str
    at: datetime = field(default_factory=utc_now)
