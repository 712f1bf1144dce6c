"""Circuit breaker: trips on error rate, latency or a 429 storm over the window;
half-open probe after the cool-down; closes on success, re-opens on failure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from moonlight.core.risk.decision import ReasonCode, Scope
from moonlight.core.risk.guards.base import ConnectorErrorKind, GuardContext
from moonlight.core.risk.guards.circuit_breaker import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitPhase,
)
from moonlight.core.risk.state_store import GuardStateStore, MemoryGuardStateStore
from moonlight.core.risk.trading_state import TradingEffect
from tests.risk.conftest import Clock, DbStores, make_request

Build = Callable[..., GuardContext]
US = timedelta(microseconds=1)
T = ConnectorErrorKind.TRANSIENT


def breaker_for(context: GuardContext, **params: object) -> CircuitBreaker:
    config = CircuitBreakerConfig.model_validate(
        {
            "window_s": 60,
            "min_calls": 4,
            "error_rate_max": 0.5,
            "latency_max_s": 2.0,
            "slow_call_rate_max": 0.75,
            "rate_limited_max": 3,
            "cool_down_s": 30,
            **params,
        }
    )
    return CircuitBreaker(config, context=context)


@pytest.fixture
def breaker(context_for: Build, memory_store: MemoryGuardStateStore) -> CircuitBreaker:
    return breaker_for(context_for(memory_store))


def test_error_rate_trips_exactly_at_the_rate_with_min_calls(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    breaker.on_connector_error("acc1", T, 0.1, clock())
    breaker.on_connector_error("acc1", T, 0.1, clock())
    breaker.on_connector_error("acc1", T, 0.1, clock())  # 3 calls < min_calls
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED
    breaker.on_connector_success("acc1", 0.1, clock())  # 3 of 4 failed = 0.75 >= 0.5
    assert breaker.phase("acc1", clock()) is CircuitPhase.OPEN
    blocked = breaker.check(make_request(), clock())
    assert (blocked.reason, blocked.scope, blocked.scope_key, blocked.until) == (
        ReasonCode.CIRCUIT_OPEN,
        Scope.ACCOUNT,
        "acc1",
        clock() + timedelta(seconds=30),
    )
    assert breaker.check(make_request(account_id="acc2"), clock()).allowed


def test_error_rate_just_below_does_not_trip(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        breaker.on_connector_success("acc1", 0.1, clock())
    breaker.on_connector_error("acc1", T, 0.1, clock())  # 1 of 4 failed
    breaker.on_connector_success("acc1", 0.1, clock())
    breaker.on_connector_error("acc1", T, 0.1, clock())  # 2 of 6 = 0.33
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED
    breaker.on_connector_error("acc1", T, 0.1, clock())  # 3 of 7 = 0.43
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED
    breaker.on_connector_error("acc1", T, 0.1, clock())  # 4 of 8 = 0.5
    assert breaker.phase("acc1", clock()) is CircuitPhase.OPEN


def test_latency_trips(breaker: CircuitBreaker, clock: Clock) -> None:
    breaker.on_connector_success("acc1", 0.5, clock())
    breaker.on_connector_success("acc1", 2.0, clock())  # slow: >= latency_max_s
    breaker.on_connector_success("acc1", 3.0, clock())
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED
    breaker.on_connector_success("acc1", 1.99, clock())  # 2 of 4 slow = 0.5 < 0.75
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED
    breaker.on_connector_success("acc1", 9.0, clock())
    breaker.on_connector_success("acc1", 9.0, clock())  # 4 of 6 slow = 0.67
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED
    breaker.on_connector_success("acc1", 9.0, clock())  # 5 of 7 = 0.71
    breaker.on_connector_success("acc1", 9.0, clock())  # 6 of 8 = 0.75: trip
    assert breaker.phase("acc1", clock()) is CircuitPhase.OPEN
    assert "latency" in breaker.statuses("acc1", clock())[0].detail


def test_rate_limit_storm_trips_below_min_calls(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    breaker = breaker_for(context_for(memory_store), min_calls=100, error_rate_max=1.0)
    for _ in range(20):
        breaker.on_connector_success("acc1", 0.1, clock())
    rl = ConnectorErrorKind.RATE_LIMITED
    breaker.on_connector_error("acc1", rl, 0.1, clock())
    breaker.on_connector_error("acc1", rl, 0.1, clock())
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED
    breaker.on_connector_error("acc1", rl, 0.1, clock())  # third 429 in the window
    assert breaker.phase("acc1", clock()) is CircuitPhase.OPEN
    assert "rate_limited" in breaker.statuses("acc1", clock())[0].detail


def test_window_slides(breaker: CircuitBreaker, clock: Clock) -> None:
    rl = ConnectorErrorKind.RATE_LIMITED
    breaker.on_connector_error("acc1", rl, 0.1, clock())
    breaker.on_connector_error("acc1", rl, 0.1, clock())
    clock.advance(60)  # both are now exactly window_s old: out of the window
    breaker.on_connector_error("acc1", rl, 0.1, clock())
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED
    clock.advance(59.999)  # the third is still inside
    breaker.on_connector_error("acc1", rl, 0.1, clock())
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED  # only 2 in window
    breaker.on_connector_error("acc1", rl, 0.1, clock())
    assert breaker.phase("acc1", clock()) is CircuitPhase.OPEN


def test_rejections_and_auth_failures_are_not_counted(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    for _ in range(10):
        breaker.on_connector_error("acc1", ConnectorErrorKind.REJECTED, 0.1, clock())
        breaker.on_connector_error("acc1", ConnectorErrorKind.AUTH_FAILED, 0.1, clock())
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED


def trip(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(4):
        breaker.on_connector_error("acc1", T, 0.1, clock())
    assert breaker.phase("acc1", clock()) is CircuitPhase.OPEN


def test_half_open_probe_then_close_on_success(breaker: CircuitBreaker, clock: Clock) -> None:
    trip(breaker, clock)
    opened = clock()
    breaker.on_connector_success("acc1", 0.1, clock.advance(10))  # ignored while OPEN
    assert breaker.phase("acc1", clock()) is CircuitPhase.OPEN
    clock.set(opened + timedelta(seconds=30) - US)
    assert breaker.check(make_request(), clock()).reason is ReasonCode.CIRCUIT_OPEN
    assert breaker.statuses("acc1", clock())[0].effect is TradingEffect.HALT
    clock.set(opened + timedelta(seconds=30))
    assert breaker.phase("acc1", clock()) is CircuitPhase.HALF_OPEN
    [status] = breaker.statuses("acc1", clock())
    assert (status.effect, status.reason) == (TradingEffect.REDUCE, ReasonCode.CIRCUIT_HALF_OPEN)
    assert breaker.check(make_request(), clock()).allowed  # the probe may go
    breaker.on_order_opened("acc1", "EURUSD", "probe-1", clock())
    blocked = breaker.check(make_request(instrument="GBPUSD"), clock())
    assert blocked.reason is ReasonCode.CIRCUIT_PROBE_IN_FLIGHT
    breaker.on_connector_success("acc1", 0.2, clock.advance(1))
    assert breaker.phase("acc1", clock()) is CircuitPhase.CLOSED
    assert breaker.check(make_request(), clock()).allowed
    assert breaker.statuses("acc1", clock()) == []


def test_half_open_probe_failure_re_opens(breaker: CircuitBreaker, clock: Clock) -> None:
    trip(breaker, clock)
    clock.advance(30)
    breaker.on_order_opened("acc1", "EURUSD", "probe-1", clock())
    failed_at = clock.advance(2)
    breaker.on_connector_error("acc1", ConnectorErrorKind.TIMEOUT, 5.0, clock())
    assert breaker.phase("acc1", clock()) is CircuitPhase.OPEN
    assert breaker.check(make_request(), clock()).until == failed_at + timedelta(seconds=30)


def test_probe_order_closing_without_verdict_frees_the_slot(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    trip(breaker, clock)
    clock.advance(30)
    breaker.on_order_opened("acc1", "EURUSD", "probe-1", clock())
    breaker.on_order_opened("acc1", "EURUSD", "other", clock())  # not a second probe
    assert not breaker.check(make_request(), clock()).allowed
    breaker.on_order_closed("acc1", "EURUSD", "other", clock())
    assert not breaker.check(make_request(), clock()).allowed
    breaker.on_order_closed("acc1", "EURUSD", "probe-1", clock())
    assert breaker.check(make_request(), clock()).allowed
    assert breaker.phase("acc1", clock()) is CircuitPhase.HALF_OPEN


def test_open_breaker_survives_restart(
    db_stores: DbStores, context_for: Build, clock: Clock
) -> None:
    store: GuardStateStore = db_stores.open()
    breaker = breaker_for(context_for(store))
    trip(breaker, clock)
    opened = clock()
    clock.advance(5)
    restarted = breaker_for(context_for(db_stores.restart()))
    blocked = restarted.check(make_request(), clock())
    assert blocked.reason is ReasonCode.CIRCUIT_OPEN
    assert blocked.until == opened + timedelta(seconds=30)
    clock.set(opened + timedelta(seconds=30))
    assert restarted.phase("acc1", clock()) is CircuitPhase.HALF_OPEN
    restarted.on_connector_success("acc1", 0.1, clock())
    closed = breaker_for(context_for(db_stores.restart()))
    assert closed.phase("acc1", clock()) is CircuitPhase.CLOSED
