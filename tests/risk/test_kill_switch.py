"""Kill-switch: blocks globally or per account, survives restarts, only a person re-arms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from moonlight.core.risk.decision import ReasonCode, Scope
from moonlight.core.risk.guards.base import GuardContext
from moonlight.core.risk.guards.kill_switch import KillSwitch, KillSwitchConfig, ReArmRefused
from moonlight.core.risk.state_store import MemoryGuardStateStore
from moonlight.core.storage.models import AuditLog, EngineState
from tests.risk.conftest import Clock, DbStores, make_request

Build = Callable[..., GuardContext]


def test_account_switch_blocks_only_that_account(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    switch = KillSwitch(KillSwitchConfig(), context=context_for(memory_store))
    assert switch.check(make_request(), clock()).allowed
    assert switch.engage("acc1", by="alice", reason="manual stop")
    blocked = switch.check(make_request(account_id="acc1"), clock())
    assert (blocked.allowed, blocked.reason, blocked.scope, blocked.scope_key) == (
        False,
        ReasonCode.KILL_SWITCH_ACCOUNT,
        Scope.ACCOUNT,
        "acc1",
    )
    assert blocked.until is None  # never lifts by itself
    assert switch.check(make_request(account_id="acc2"), clock()).allowed


def test_global_switch_blocks_every_account(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    switch = KillSwitch(KillSwitchConfig(), context=context_for(memory_store))
    switch.engage(by="moonlight:executor", reason="storage unavailable")
    for account in ("acc1", "acc2"):
        decision = switch.check(make_request(account_id=account), clock())
        assert decision.reason is ReasonCode.KILL_SWITCH_GLOBAL
        assert decision.scope is Scope.GLOBAL


def test_time_does_not_re_arm(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    switch = KillSwitch(KillSwitchConfig(), context=context_for(memory_store))
    switch.engage("acc1", by="alice", reason="x")
    clock.advance(365 * 24 * 3600)
    assert not switch.check(make_request(), clock()).allowed


@pytest.mark.parametrize("operator", ["", "   ", "moonlight", "moonlight:scheduler", "MoonLight"])
def test_only_a_person_re_arms(
    operator: str, context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    switch = KillSwitch(KillSwitchConfig(), context=context_for(memory_store))
    switch.engage(by="alice", reason="x")
    with pytest.raises(ReArmRefused):
        switch.re_arm(operator=operator)
    assert not switch.check(make_request(), clock()).allowed


def test_re_arm_lifts_exactly_the_named_switch(
    context_for: Build, memory_store: MemoryGuardStateStore, clock: Clock
) -> None:
    switch = KillSwitch(KillSwitchConfig(), context=context_for(memory_store))
    switch.engage(by="alice", reason="global")
    switch.engage("acc1", by="alice", reason="account")
    assert switch.re_arm(operator="bob")  # global only
    assert switch.check(make_request(account_id="acc1"), clock()).reason is (
        ReasonCode.KILL_SWITCH_ACCOUNT
    )
    assert switch.check(make_request(account_id="acc2"), clock()).allowed
    assert switch.re_arm("acc1", operator="bob")
    assert switch.check(make_request(account_id="acc1"), clock()).allowed
    assert not switch.re_arm("acc1", operator="bob")  # nothing left to re-arm
    assert memory_store.values["killswitch:account:acc1"].updated_by == "bob"


def test_first_engagement_is_kept(context_for: Build, memory_store: MemoryGuardStateStore) -> None:
    switch = KillSwitch(KillSwitchConfig(), context=context_for(memory_store))
    assert switch.engage(by="alice", reason="first")
    assert not switch.engage(by="carol", reason="second")
    engagement = switch.engagement()
    assert engagement is not None and (engagement.by, engagement.reason) == ("alice", "first")


class FailingStore(MemoryGuardStateStore):
    """A store whose writes fail, like a full disk."""

    def save(self, key: str, value: Any, *, updated_by: str) -> None:
        raise OSError("disk full")


def test_failed_write_never_re_arms_and_engage_still_stops(
    context_for: Build, clock: Clock
) -> None:
    store = FailingStore()
    switch = KillSwitch(KillSwitchConfig(), context=context_for(store))
    with pytest.raises(OSError):
        switch.engage("acc1", by="alice", reason="x")
    assert not switch.check(make_request(), clock()).allowed  # engaged in memory
    with pytest.raises(OSError):
        switch.re_arm("acc1", operator="bob")
    assert not switch.check(make_request(), clock()).allowed  # still engaged


def test_engaged_switch_survives_restart(
    db_stores: DbStores, context_for: Build, clock: Clock
) -> None:
    switch = KillSwitch(KillSwitchConfig(), context=context_for(db_stores.open()))
    switch.engage(by="alice", reason="global stop")
    switch.engage("acc2", by="alice", reason="acc2 stop")

    restarted = KillSwitch(KillSwitchConfig(), context=context_for(db_stores.restart()))
    assert restarted.check(make_request(), clock()).reason is ReasonCode.KILL_SWITCH_GLOBAL
    engagement = restarted.engagement()
    assert engagement is not None and engagement.by == "alice"
    assert engagement.at == clock()

    assert restarted.re_arm(operator="bob")
    again = KillSwitch(KillSwitchConfig(), context=context_for(db_stores.restart()))
    assert again.check(make_request(account_id="acc1"), clock()).allowed
    blocked = again.check(make_request(account_id="acc2"), clock())
    assert blocked.reason is ReasonCode.KILL_SWITCH_ACCOUNT  # the account switch is still on

    with db_stores.sessions()() as session:
        row = session.get(EngineState, "killswitch:global")
        assert row is not None and row.updated_by == "bob"
        assert row.value["engaged"] is False and row.value["re_armed_by"] == "bob"
        actors = [entry.actor for entry in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actors == ["alice", "alice", "bob"]


def test_damaged_record_stays_engaged(context_for: Build, clock: Clock) -> None:
    store = MemoryGuardStateStore()
    store.save("killswitch:global", {"engaged": True, "at": "not a time"}, updated_by="x")
    switch = KillSwitch(KillSwitchConfig(), context=context_for(store))
    assert switch.check(make_request(), clock()).reason is ReasonCode.KILL_SWITCH_GLOBAL
