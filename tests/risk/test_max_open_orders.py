"""Max open orders: blocks at the limit, frees a slot on close, idempotent per order."""

from __future__ import annotations

from collections.abc import Callable

from moonlight.core.risk.decision import ReasonCode, Scope
from moonlight.core.risk.guards.base import GuardContext
from moonlight.core.risk.guards.max_open_orders import MaxOpenOrders, MaxOpenOrdersConfig
from moonlight.core.risk.state_store import MemoryGuardStateStore
from moonlight.core.risk.trading_state import TradingEffect
from tests.risk.conftest import Clock, make_request

Build = Callable[..., GuardContext]


def test_account_limit(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    config = MaxOpenOrdersConfig(max_open_per_account=2, max_open_per_instrument=None)
    guard = MaxOpenOrders(config, context=context_for(memory_store))
    now = clock()
    guard.on_order_opened("acc1", "EURUSD", "a", now)
    assert guard.check(make_request(), now).allowed
    guard.on_order_opened("acc1", "GBPUSD", "b", now)
    blocked = guard.check(make_request(instrument="USDJPY"), now)
    assert (blocked.reason, blocked.scope, blocked.scope_key, blocked.until) == (
        ReasonCode.MAX_OPEN_ORDERS_ACCOUNT,
        Scope.ACCOUNT,
        "acc1",
        None,
    )
    assert guard.check(make_request(account_id="acc2"), now).allowed
    [status] = guard.statuses("acc1", now)
    assert status.effect is TradingEffect.REDUCE
    guard.on_order_closed("acc1", "EURUSD", "a", now)
    assert guard.check(make_request(instrument="USDJPY"), now).allowed
    assert guard.statuses("acc1", now) == []


def test_instrument_limit(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    config = MaxOpenOrdersConfig(max_open_per_account=10, max_open_per_instrument=1)
    guard = MaxOpenOrders(config, context=context_for(memory_store))
    now = clock()
    guard.on_order_opened("acc1", "EURUSD", "a", now)
    blocked = guard.check(make_request(instrument="EURUSD"), now)
    assert blocked.reason is ReasonCode.MAX_OPEN_ORDERS_INSTRUMENT
    assert blocked.scope is Scope.INSTRUMENT and blocked.scope_key == "acc1/EURUSD"
    assert guard.check(make_request(instrument="GBPUSD"), now).allowed
    assert [s.scope_key for s in guard.statuses("acc1", now)] == ["acc1/EURUSD"]
    guard.on_order_closed("acc1", "EURUSD", "a", now)
    assert guard.check(make_request(instrument="EURUSD"), now).allowed


def test_repeated_events_do_not_drift(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    guard = MaxOpenOrders(MaxOpenOrdersConfig(), context=context_for(memory_store))
    now = clock()
    for _ in range(3):
        guard.on_order_opened("acc1", "EURUSD", "a", now)
    assert guard.open_orders("acc1") == 1
    guard.on_order_closed("acc1", "EURUSD", "unknown", now)
    assert guard.open_orders("acc1") == 1
    guard.on_order_closed("acc1", "EURUSD", "a", now)
    guard.on_order_closed("acc1", "EURUSD", "a", now)
    assert guard.open_orders("acc1") == 0 and guard.open_orders("acc1", "EURUSD") == 0
    assert guard.check(make_request(), now).allowed
