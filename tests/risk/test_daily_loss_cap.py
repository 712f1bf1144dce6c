"""Daily loss cap: trips at the cap, blocks until local midnight, resets exactly then."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from moonlight.core.orders import Outcome
from moonlight.core.risk.decision import ReasonCode, Scope
from moonlight.core.risk.guards.base import GuardContext
from moonlight.core.risk.guards.daily_loss_cap import (
    DailyLossCap,
    DailyLossCapConfig,
    trading_day,
)
from moonlight.core.risk.state_store import MemoryGuardStateStore
from moonlight.core.risk.trading_state import TradingEffect
from tests.risk.conftest import Clock, DbStores, make_request, result

Build = Callable[..., GuardContext]
US = timedelta(microseconds=1)


def amount_cap(context: GuardContext, cap: float = 50.0) -> DailyLossCap:
    return DailyLossCap(DailyLossCapConfig(daily_loss_cap_amount=cap), context=context)


def test_trips_exactly_at_the_cap_and_blocks_until_midnight(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = amount_cap(context_for(memory_store))
    guard.on_result(result(Outcome.LOSE, -30.0), clock())
    guard.on_result(result(Outcome.LOSE, -19.99), clock())
    assert guard.check(make_request(), clock()).allowed  # 49.99 < 50
    guard.on_result(result(Outcome.LOSE, -0.01), clock())  # net loss 50.00 = cap
    blocked = guard.check(make_request(), clock())
    midnight = datetime(2024, 3, 6, tzinfo=UTC)
    assert (blocked.reason, blocked.scope, blocked.scope_key, blocked.until) == (
        ReasonCode.DAILY_LOSS_CAP,
        Scope.ACCOUNT,
        "acc1",
        midnight,
    )
    assert guard.check(make_request(account_id="acc2"), clock()).allowed  # per account
    [status] = guard.statuses("acc1", clock())
    assert status.effect is TradingEffect.HALT and status.until == midnight

    clock.set(midnight - US)
    assert not guard.check(make_request(), clock()).allowed  # one microsecond before
    clock.set(midnight)
    assert guard.check(make_request(), clock()).allowed  # exactly at midnight
    assert guard.pnl_today("acc1") == 0.0
    assert guard.statuses("acc1", clock()) == []


def test_wins_offset_losses_before_the_trip_but_do_not_lift_it(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = amount_cap(context_for(memory_store))
    guard.on_result(result(Outcome.LOSE, -40.0), clock())
    guard.on_result(result(Outcome.WIN, 34.0), clock())
    guard.on_result(result(Outcome.LOSE, -40.0), clock())  # net -46
    assert guard.check(make_request(), clock()).allowed
    guard.on_result(result(Outcome.LOSE, -4.0), clock())  # net -50: trip
    assert not guard.check(make_request(), clock()).allowed
    guard.on_result(result(Outcome.WIN, 100.0), clock())  # net +50, but latched
    assert guard.check(make_request(), clock()).reason is ReasonCode.DAILY_LOSS_CAP


def test_percentage_cap_of_start_of_day_balance(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = DailyLossCap(
        DailyLossCapConfig(daily_loss_cap_pct=5.0), context=context_for(memory_store)
    )
    assert guard.check(make_request(balance=2000.0), clock()).allowed  # start: 2000 -> cap 100
    guard.on_result(result(Outcome.LOSE, -99.0, balance_after=1901.0), clock())
    assert guard.check(make_request(balance=1901.0), clock()).allowed
    guard.on_result(result(Outcome.LOSE, -1.0, balance_after=1900.0), clock())
    assert guard.check(make_request(balance=1900.0), clock()).reason is ReasonCode.DAILY_LOSS_CAP


def test_percentage_cap_learns_start_balance_from_a_result(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = DailyLossCap(
        DailyLossCapConfig(daily_loss_cap_pct=10.0), context=context_for(memory_store)
    )
    guard.on_result(result(Outcome.LOSE, -50.0, balance_after=950.0), clock())  # start 1000
    guard.on_result(result(Outcome.LOSE, -50.0), clock())  # -100 = 10 % of 1000
    assert guard.check(make_request(balance=900.0), clock()).reason is ReasonCode.DAILY_LOSS_CAP


def test_percentage_cap_reconstructs_start_balance_after_blind_results(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = DailyLossCap(
        DailyLossCapConfig(daily_loss_cap_pct=10.0), context=context_for(memory_store)
    )
    guard.on_result(result(Outcome.LOSE, -100.0), clock())  # no balance known yet
    # first balance of the day: 900 after losing 100 -> start 1000, loss 10 % -> trips now
    assert guard.check(make_request(balance=900.0), clock()).reason is ReasonCode.DAILY_LOSS_CAP
    assert "guard:daily_loss_cap:acc1" in memory_store.values


def test_midnight_is_the_configured_timezone(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    # Istanbul is UTC+3 all year: local midnight is 21:00 UTC.
    guard = amount_cap(context_for(memory_store, "Europe/Istanbul"))
    guard.on_result(result(Outcome.LOSE, -60.0), clock())
    local_midnight = datetime(2024, 3, 5, 21, 0, tzinfo=UTC)
    assert guard.check(make_request(), clock()).until == local_midnight
    clock.set(local_midnight - US)
    assert not guard.check(make_request(), clock()).allowed
    clock.set(local_midnight)
    assert guard.check(make_request(), clock()).allowed


@pytest.mark.parametrize(
    ("zone", "day_start_utc", "expected_end_utc"),
    [
        # New York spring forward (2024-03-10 02:00 -> 03:00): that day lasts 23 hours.
        (
            "America/New_York",
            datetime(2024, 3, 10, 5, 0, tzinfo=UTC),
            datetime(2024, 3, 11, 4, 0, tzinfo=UTC),
        ),
        # Santiago: clocks jump from 2024-09-08 00:00 to 01:00, midnight does not exist.
        (
            "America/Santiago",
            datetime(2024, 9, 7, 4, 0, tzinfo=UTC),
            datetime(2024, 9, 8, 4, 0, tzinfo=UTC),
        ),
    ],
)
def test_trading_day_across_dst(
    zone: str, day_start_utc: datetime, expected_end_utc: datetime
) -> None:
    day, ends = trading_day(day_start_utc, ZoneInfo(zone))
    assert day == day_start_utc.astimezone(ZoneInfo(zone)).date()
    assert ends == expected_end_utc
    assert (ends - US).astimezone(ZoneInfo(zone)).date() == day
    assert ends.astimezone(ZoneInfo(zone)).date() > day


def test_trip_survives_restart_same_day_and_resets_next_day(
    db_stores: DbStores, context_for: Build, clock: Clock
) -> None:
    guard = amount_cap(context_for(db_stores.open()))
    guard.on_result(result(Outcome.LOSE, -20.0), clock())
    clock.advance(3600)
    restarted = amount_cap(context_for(db_stores.restart()))
    assert restarted.pnl_today("acc1") == -20.0  # the day's P&L survives
    restarted.on_result(result(Outcome.LOSE, -30.0), clock())  # trips
    assert not restarted.check(make_request(), clock()).allowed

    clock.advance(3600)
    after_crash = amount_cap(context_for(db_stores.restart()))
    blocked = after_crash.check(make_request(), clock())
    assert blocked.reason is ReasonCode.DAILY_LOSS_CAP
    assert blocked.until == datetime(2024, 3, 6, tzinfo=UTC)

    clock.set(datetime(2024, 3, 6, 0, 0, 1, tzinfo=UTC))  # restarted the next day
    next_day = amount_cap(context_for(db_stores.restart()))
    assert next_day.check(make_request(), clock()).allowed
    assert next_day.pnl_today("acc1") == 0.0


def test_damaged_record_fails_closed_for_the_day(context_for: Build, clock: Clock) -> None:
    store = MemoryGuardStateStore()
    store.save("guard:daily_loss_cap:acc1", {"day": "garbage"}, updated_by="x")
    guard = amount_cap(context_for(store))
    assert guard.check(make_request(), clock()).reason is ReasonCode.DAILY_LOSS_CAP
    assert guard.check(make_request(account_id="acc2"), clock()).allowed


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"daily_loss_cap_amount": 10, "daily_loss_cap_pct": 5},
        {"daily_loss_cap_pct": 101},
        {"daily_loss_cap_amount": 0},
    ],
)
def test_config_needs_exactly_one_valid_cap(params: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        DailyLossCapConfig.model_validate(params)
