"""Circuit breaker: stop an account's trading while its connector is unhealthy.

States per account (the docs draw the diagram)::

    CLOSED --trip--> OPEN --cool_down_s elapses--> HALF_OPEN --success--> CLOSED
                      ^                                |
                      +------- counted error ----------+

* **CLOSED** — every connector call is recorded in a sliding window of ``window_s``
  seconds (a call at time t is in the window while ``now - t < window_s``). The breaker
  **trips** after recording a call when, over the window,

  - ``rate_limited`` calls (HTTP 429) number ``rate_limited_max`` or more
    (a 429 storm; counted whatever the number of calls), or
  - there are at least ``min_calls`` calls and the failed fraction is
    ``≥ error_rate_max``, or
  - there are at least ``min_calls`` calls and the fraction of calls that took
    ``≥ latency_max_s`` (successful or not) is ``≥ slow_call_rate_max``.

  The checks run in that order; the first that holds is the stored cause.
* **OPEN** — every decision of the account is blocked with ``circuit_open`` until
  ``opened_at + cool_down_s``. Calls finishing meanwhile are ignored.
* **HALF_OPEN** — from that instant one probe is allowed: decisions pass until an order
  is opened; while that probe order is open, further decisions are blocked with
  ``circuit_probe_in_flight``. The next successful connector call closes the breaker
  (window cleared); the next counted error re-opens it for another ``cool_down_s``. If
  the probe order closes without either, the next decision may probe again.

``rejected`` and ``auth_failed`` errors are not counted: they are not the connection's
health. OPEN (with its time and cause) is persisted under ``guard:circuit_breaker:<acct>``
so a restart keeps the account stopped until the cool-down ends; the window is not.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.risk.decision import ALLOW, GuardDecision, ReasonCode, Scope, block
from moonlight.core.risk.guards.base import (
    SYSTEM_ACTOR,
    ConnectorErrorKind,
    Guard,
    GuardContext,
)
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.state_store import dump_time, load_time
from moonlight.core.risk.trading_state import GuardStatus, TradingEffect

KEY_PREFIX = "guard:circuit_breaker:"

_NOT_COUNTED = frozenset({ConnectorErrorKind.REJECTED, ConnectorErrorKind.AUTH_FAILED})


class CircuitBreakerConfig(BaseModel):
    """When the connector counts as unhealthy, and how long to wait before probing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_s: float = Field(default=60.0, gt=0, description="Sliding window length, seconds.")
    min_calls: int = Field(
        default=10, ge=1, description="Calls in the window before rates are judged."
    )
    error_rate_max: float = Field(
        default=0.5, gt=0, le=1, description="Failed fraction of calls that trips the breaker."
    )
    latency_max_s: float = Field(
        default=5.0, gt=0, description="A call taking this many seconds or more is slow."
    )
    slow_call_rate_max: float = Field(
        default=0.5, gt=0, le=1, description="Slow fraction of calls that trips the breaker."
    )
    rate_limited_max: int = Field(
        default=5, ge=1, description="Rate-limited (429) calls in the window that trip it."
    )
    cool_down_s: float = Field(
        default=30.0, gt=0, description="Seconds OPEN before a half-open probe is allowed."
    )


class CircuitPhase(StrEnum):
    """The breaker's state for one account."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class TripCause(StrEnum):
    """Which condition opened the breaker."""

    RATE_LIMITED = "rate_limited"
    ERROR_RATE = "error_rate"
    LATENCY = "latency"
    PROBE_FAILED = "probe_failed"
    RESTORED = "restored"


@dataclass(slots=True)
class _Call:
    at: datetime
    failed: bool
    slow: bool
    rate_limited: bool


@dataclass(slots=True)
class _Breaker:
    calls: deque[_Call] = field(default_factory=deque)
    failed: int = 0
    slow: int = 0
    rate_limited: int = 0
    opened_at: datetime | None = None
    open_until: datetime | None = None
    cause: TripCause | None = None
    probe: str | None = None  # client_req_id of the half-open probe order


class CircuitBreaker(Guard):
    """A per-account circuit breaker over the connector's calls."""

    name = "circuit_breaker"

    def __init__(self, config: CircuitBreakerConfig, *, context: GuardContext) -> None:
        self.config = config
        self._context = context
        self._window = timedelta(seconds=config.window_s)
        self._cool_down = timedelta(seconds=config.cool_down_s)
        self._breakers: dict[str, _Breaker] = {}
        for key, value in context.store.load_prefix(KEY_PREFIX).items():
            breaker = _load(value, context.now(), self._cool_down)
            if breaker is not None:
                self._breakers[key[len(KEY_PREFIX) :]] = breaker

    # ------------------------------------------------------------------ hot path

    def check(self, request: DecisionRequest, now: datetime) -> GuardDecision:
        """Block while OPEN, and while a half-open probe order is in flight."""
        breaker = self._breakers.get(request.account_id)
        if breaker is None or breaker.open_until is None:
            return ALLOW
        if now < breaker.open_until:
            return block(
                ReasonCode.CIRCUIT_OPEN,
                Scope.ACCOUNT,
                request.account_id,
                f"connector unhealthy ({breaker.cause}); probing after cool-down",
                until=breaker.open_until,
            )
        if breaker.probe is not None:
            return block(
                ReasonCode.CIRCUIT_PROBE_IN_FLIGHT,
                Scope.ACCOUNT,
                request.account_id,
                f"half-open: probe order {breaker.probe} in flight",
            )
        return ALLOW

    # ------------------------------------------------------------------ events

    def on_order_opened(
        self, account_id: str, instrument: str, client_req_id: str, now: datetime
    ) -> None:
        """In HALF_OPEN, the first order opened is the probe."""
        breaker = self._breakers.get(account_id)
        if breaker is not None and self._half_open(breaker, now) and breaker.probe is None:
            breaker.probe = client_req_id

    def on_order_closed(
        self, account_id: str, instrument: str, client_req_id: str, now: datetime
    ) -> None:
        """A probe order that ended without a verdict frees the probe slot."""
        breaker = self._breakers.get(account_id)
        if breaker is not None and breaker.probe == client_req_id:
            breaker.probe = None

    def on_connector_success(self, account_id: str, latency_s: float, now: datetime) -> None:
        """HALF_OPEN: close. CLOSED: record the call (slow or not) and maybe trip."""
        breaker = self._breakers.setdefault(account_id, _Breaker())
        if breaker.open_until is not None:
            if now >= breaker.open_until:
                self._close(account_id, breaker)
            return
        self._record(account_id, breaker, now, False, latency_s, False)

    def on_connector_error(
        self, account_id: str, kind: ConnectorErrorKind, latency_s: float, now: datetime
    ) -> None:
        """HALF_OPEN: re-open. CLOSED: record the failed call and maybe trip."""
        if kind in _NOT_COUNTED:
            return
        breaker = self._breakers.setdefault(account_id, _Breaker())
        if breaker.open_until is not None:
            if now >= breaker.open_until:
                self._open(account_id, breaker, now, TripCause.PROBE_FAILED)
            return
        rate_limited = kind is ConnectorErrorKind.RATE_LIMITED
        self._record(account_id, breaker, now, True, latency_s, rate_limited)

    # ------------------------------------------------------------------ state

    def phase(self, account_id: str, now: datetime) -> CircuitPhase:
        """The account's breaker state at ``now``."""
        breaker = self._breakers.get(account_id)
        if breaker is None or breaker.open_until is None:
            return CircuitPhase.CLOSED
        return CircuitPhase.OPEN if now < breaker.open_until else CircuitPhase.HALF_OPEN

    def statuses(self, account_id: str, now: datetime) -> list[GuardStatus]:
        """HALT while OPEN; REDUCE while HALF_OPEN (one probe at a time)."""
        breaker = self._breakers.get(account_id)
        if breaker is None or breaker.open_until is None:
            return []
        if now < breaker.open_until:
            return [
                GuardStatus(
                    self.name,
                    TradingEffect.HALT,
                    ReasonCode.CIRCUIT_OPEN,
                    Scope.ACCOUNT,
                    account_id,
                    breaker.open_until,
                    f"opened by {breaker.cause}",
                )
            ]
        reason = ReasonCode.CIRCUIT_HALF_OPEN
        detail = "half-open: next order is a probe"
        if breaker.probe is not None:
            reason = ReasonCode.CIRCUIT_PROBE_IN_FLIGHT
            detail = f"half-open: probe order {breaker.probe} in flight"
        return [
            GuardStatus(
                self.name, TradingEffect.REDUCE, reason, Scope.ACCOUNT, account_id, None, detail
            )
        ]

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _half_open(breaker: _Breaker, now: datetime) -> bool:
        return breaker.open_until is not None and now >= breaker.open_until

    def _record(
        self,
        account_id: str,
        breaker: _Breaker,
        now: datetime,
        failed: bool,
        latency_s: float,
        rate_limited: bool,
    ) -> None:
        call = _Call(now, failed, latency_s >= self.config.latency_max_s, rate_limited)
        breaker.calls.append(call)
        breaker.failed += call.failed
        breaker.slow += call.slow
        breaker.rate_limited += call.rate_limited
        horizon = now - self._window
        calls = breaker.calls
        while calls and calls[0].at <= horizon:
            old = calls.popleft()
            breaker.failed -= old.failed
            breaker.slow -= old.slow
            breaker.rate_limited -= old.rate_limited
        cause = self._trip_cause(breaker)
        if cause is not None:
            self._open(account_id, breaker, now, cause)

    def _trip_cause(self, breaker: _Breaker) -> TripCause | None:
        config = self.config
        if breaker.rate_limited >= config.rate_limited_max:
            return TripCause.RATE_LIMITED
        total = len(breaker.calls)
        if total < config.min_calls:
            return None
        if breaker.failed / total >= config.error_rate_max:
            return TripCause.ERROR_RATE
        if breaker.slow / total >= config.slow_call_rate_max:
            return TripCause.LATENCY
        return None

    def _open(self, account_id: str, breaker: _Breaker, now: datetime, cause: TripCause) -> None:
        breaker.calls.clear()
        breaker.failed = breaker.slow = breaker.rate_limited = 0
        breaker.opened_at = now
        breaker.open_until = now + self._cool_down
        breaker.cause = cause
        breaker.probe = None
        self._save(account_id, breaker)

    def _close(self, account_id: str, breaker: _Breaker) -> None:
        breaker.calls.clear()
        breaker.failed = breaker.slow = breaker.rate_limited = 0
        breaker.opened_at = breaker.open_until = None
        breaker.cause = None
        breaker.probe = None
        self._save(account_id, breaker)

    def _save(self, account_id: str, breaker: _Breaker) -> None:
        self._context.store.save(
            f"{KEY_PREFIX}{account_id}",
            {
                "opened_at": dump_time(breaker.opened_at),
                "open_until": dump_time(breaker.open_until),
                "cause": None if breaker.cause is None else breaker.cause.value,
            },
            updated_by=SYSTEM_ACTOR,
        )


def _load(value: dict[str, Any], now: datetime, cool_down: timedelta) -> _Breaker | None:
    """The stored breaker; a damaged OPEN record re-opens for one cool-down (fail closed)."""
    raw_until = value.get("open_until")
    if raw_until is None:
        return None
    until = load_time(raw_until)
    try:
        cause = TripCause(str(value.get("cause")))
    except ValueError:
        cause = TripCause.RESTORED
    if until is None:
        return _Breaker(opened_at=now, open_until=now + cool_down, cause=TripCause.RESTORED)
    return _Breaker(opened_at=load_time(value.get("opened_at")), open_until=until, cause=cause)
