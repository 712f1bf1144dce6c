"""Consecutive-loss stop: trips on the N-th loss in a row, cools down exactly cool_down_s."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from moonlight.core.orders import Outcome
from moonlight.core.risk.decision import ReasonCode, Scope
from moonlight.core.risk.guards.base import GuardContext
from moonlight.core.risk.guards.consecutive_losses import (
    ConsecutiveLosses,
    ConsecutiveLossesConfig,
)
from moonlight.core.risk.state_store import MemoryGuardStateStore
from moonlight.core.risk.trading_state import TradingEffect
from tests.risk.conftest import Clock, DbStores, make_request, result

Build = Callable[..., GuardContext]
US = timedelta(microseconds=1)


def guard_for(context: GuardContext, **params: object) -> ConsecutiveLosses:
    config = ConsecutiveLossesConfig.model_validate(
        {"max_consecutive_losses": 3, "cool_down_s": 600, **params}
    )
    return ConsecutiveLosses(config, context=context)


def test_trips_on_the_nth_loss_and_recovers_exactly_after_cool_down(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = guard_for(context_for(memory_store))
    guard.on_result(result(Outcome.LOSE, -1), clock())
    guard.on_result(result(Outcome.LOSE, -1), clock())
    assert guard.check(make_request(), clock()).allowed  # two losses: not yet
    tripped_at = clock.advance(5)
    guard.on_result(result(Outcome.LOSE, -1), clock())
    blocked = guard.check(make_request(), clock())
    until = tripped_at + timedelta(seconds=600)
    assert (blocked.reason, blocked.scope, blocked.scope_key, blocked.until) == (
        ReasonCode.CONSECUTIVE_LOSSES,
        Scope.ACCOUNT,
        "acc1",
        until,
    )
    [status] = guard.statuses("acc1", clock())
    assert status.effect is TradingEffect.HALT
    clock.set(until - US)
    assert not guard.check(make_request(), clock()).allowed
    clock.set(until)
    assert guard.check(make_request(), clock()).allowed
    assert guard.statuses("acc1", clock()) == []
    assert guard.losses_in_a_row("acc1") == 0  # the streak restarted at the trip


def test_a_win_resets_pushes_and_aborts_do_not(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = guard_for(context_for(memory_store))
    for outcome in (Outcome.LOSE, Outcome.LOSE, Outcome.WIN, Outcome.LOSE, Outcome.LOSE):
        guard.on_result(result(outcome, 0), clock())
    assert guard.losses_in_a_row("acc1") == 2
    assert guard.check(make_request(), clock()).allowed
    guard.on_result(result(Outcome.PUSH, 0), clock())
    guard.on_result(result(Outcome.ABORT, 0), clock())
    assert guard.losses_in_a_row("acc1") == 2
    guard.on_result(result(Outcome.LOSE, -1), clock())
    assert not guard.check(make_request(), clock()).allowed


def test_losses_during_cool_down_restart_it(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = guard_for(context_for(memory_store), max_consecutive_losses=1)
    guard.on_result(result(Outcome.LOSE, -1), clock())
    second = clock.advance(300)
    guard.on_result(result(Outcome.LOSE, -1), clock())  # an order still open lost
    assert guard.check(make_request(), clock()).until == second + timedelta(seconds=600)


def test_per_instrument_streaks(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = guard_for(context_for(memory_store), per_instrument=True, max_consecutive_losses=2)
    guard.on_result(result(Outcome.LOSE, -1, instrument="EURUSD"), clock())
    guard.on_result(result(Outcome.LOSE, -1, instrument="GBPUSD"), clock())
    assert guard.check(make_request(instrument="EURUSD"), clock()).allowed
    guard.on_result(result(Outcome.LOSE, -1, instrument="EURUSD"), clock())
    blocked = guard.check(make_request(instrument="EURUSD"), clock())
    assert blocked.scope is Scope.INSTRUMENT and blocked.scope_key == "acc1/EURUSD"
    assert guard.check(make_request(instrument="GBPUSD"), clock()).allowed
    [status] = guard.statuses("acc1", clock())
    assert status.scope_key == "acc1/EURUSD"
    assert guard.statuses("acc10", clock()) == []  # prefix of another account's key


def test_cool_down_survives_restart(db_stores: DbStores, context_for: Build, clock: Clock) -> None:
    guard = guard_for(context_for(db_stores.open()))
    guard.on_result(result(Outcome.LOSE, -1), clock())
    guard.on_result(result(Outcome.LOSE, -1), clock())
    restarted = guard_for(context_for(db_stores.restart()))
    assert restarted.losses_in_a_row("acc1") == 2  # the streak survives
    tripped_at = clock.advance(10)
    restarted.on_result(result(Outcome.LOSE, -1), clock())
    again = guard_for(context_for(db_stores.restart()))
    blocked = again.check(make_request(), clock())
    assert blocked.reason is ReasonCode.CONSECUTIVE_LOSSES
    assert blocked.until == tripped_at + timedelta(seconds=600)
    clock.set(tripped_at + timedelta(seconds=600))
    assert again.check(make_request(), clock()).allowed


def test_damaged_record_blocks_for_one_cool_down(context_for: Build, clock: Clock) -> None:
    store = MemoryGuardStateStore()
    store.save("guard:consecutive_losses:acc1", {"losses": 0, "blocked_until": "?"}, updated_by="x")
    guard = guard_for(context_for(store))
    assert guard.check(make_request(), clock()).until == clock() + timedelta(seconds=600)
