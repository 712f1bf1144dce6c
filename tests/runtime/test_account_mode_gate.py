"""The account-mode gate on its own and inside the executor: checked once per connection,
again after every reconnect, and a contradiction fails the order with nothing sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moonlight.core.connectors.contract import (
    AccountKind,
    BrokerAccount,
    OrderRequest,
    Rejected,
    Transient,
)
from moonlight.core.connectors.mock import FaultKind, MockConnector
from moonlight.core.execution.executor import Executor
from moonlight.core.execution.journal import OrderJournal
from moonlight.core.orders import Direction, OrderState
from moonlight.core.runtime.account_mode import (
    MODE_MISMATCH,
    AccountModeGate,
    AccountModeMismatch,
    static_mode_problem,
)
from moonlight.core.runtime.clock import FastForwardClock
from tests.execution.support import START_TS, fast_config, intent, migrated_sqlite


class Mismatches:
    def __init__(self) -> None:
        self.seen: list[AccountModeMismatch] = []

    def __call__(self, error: AccountModeMismatch) -> None:
        self.seen.append(error)


async def connected_mock(kind: AccountKind = AccountKind.DEMO) -> MockConnector:
    mock = MockConnector(seed=3, clock=FastForwardClock(START_TS), account_kind=kind)
    await mock.connect()
    return mock


async def test_checked_once_per_connection_and_again_after_a_reconnect() -> None:
    mock = await connected_mock()
    seen = Mismatches()
    gate = AccountModeGate(mock, "acc-1", "demo", on_mismatch=seen)
    account = await gate.verify()
    assert (account.kind, gate.verified_epoch) == (AccountKind.DEMO, mock.connection_epoch)
    for _ in range(5):
        await gate(_order("o-1"))
    assert mock.calls["account_info"] == 1  # same connection: not asked again
    mock.drop_connection()
    assert isinstance(mock.clock, FastForwardClock)
    mock.clock.advance_to(mock.clock.now() + mock.faults.reconnect_after_s)
    await gate(_order("o-1"))
    assert mock.calls["account_info"] == 2  # a new connection: asked again
    assert seen.seen == []
    await mock.close()


async def test_a_contradiction_is_reported_raised_and_checked_again_next_time() -> None:
    mock = await connected_mock(AccountKind.REAL)
    seen = Mismatches()
    gate = AccountModeGate(mock, "acc-1", "demo", on_mismatch=seen)
    for _ in range(2):
        with pytest.raises(AccountModeMismatch) as caught:
            await gate(_order("o-1"))
        assert caught.value.code == MODE_MISMATCH
        assert isinstance(caught.value, Rejected)
    assert len(seen.seen) == 2 and gate.verified_epoch is None
    assert mock.calls["account_info"] == 2
    assert "broker reports a real account" in str(seen.seen[0])
    await mock.close()


async def test_an_order_for_another_account_is_refused_outright() -> None:
    mock = await connected_mock()
    gate = AccountModeGate(mock, "acc-1", "demo", on_mismatch=Mismatches())
    await gate.verify()
    with pytest.raises(Rejected) as caught:
        await gate(_order("o-1", account_id="acc-2"))
    assert caught.value.code == MODE_MISMATCH
    await mock.close()


class Flapping:
    """A connector whose connection changes under every ``account_info`` (or which has a bug)."""

    def __init__(self, *, bug: bool = False) -> None:
        self.epoch = 1
        self.bug = bug

    @property
    def connection_epoch(self) -> int:
        return self.epoch

    async def account_info(self, account_id: str) -> BrokerAccount:
        if self.bug:
            raise KeyError("balances")
        self.epoch += 1
        return BrokerAccount(account_id, AccountKind.DEMO, "USD", 100.0)


@pytest.mark.parametrize("bug", [False, True])
async def test_a_flapping_or_broken_connection_is_a_transient_failure(bug: bool) -> None:
    broker: Any = Flapping(bug=bug)
    gate = AccountModeGate(broker, "acc-1", "demo", on_mismatch=Mismatches())
    with pytest.raises(Transient):
        await gate(_order("o-1"))
    assert gate.verified_epoch is None


async def test_inside_the_executor_a_contradiction_fails_the_order_with_nothing_sent(
    tmp_path: Path,
) -> None:
    clock = FastForwardClock(START_TS)
    mock = MockConnector(seed=3, clock=clock, account_kind=AccountKind.DEMO)
    await mock.connect()
    seen = Mismatches()
    gate = AccountModeGate(mock, "acc-1", "demo", on_mismatch=seen)
    engine = migrated_sqlite(tmp_path / "db.sqlite")
    journal = OrderJournal(engine)
    executor = Executor(
        connector=mock, journal=journal, clock=clock, config=fast_config(), gate=gate
    )
    await executor.start(["acc-1"])
    try:
        # a check that cannot be answered is retried like a send that never left
        mock.faults.query.extend([FaultKind.SERVER_ERROR, FaultKind.SERVER_ERROR])
        first = await executor.execute(intent("o-1"))
        assert first.state is OrderState.SETTLED and len(mock.all_orders()) == 1
        # the session lands on a real account behind a reconnect
        mock.account_kind = AccountKind.REAL
        mock.drop_connection()
        clock.advance_to(clock.now() + mock.faults.reconnect_after_s)
        placed = mock.calls["place_order"]
        second = await executor.execute(intent("o-2"))
        assert second.state is OrderState.FAILED
        assert second.reason is not None and "broker reports a real account" in second.reason
        assert mock.calls["place_order"] == placed and len(mock.all_orders()) == 1
        assert len(seen.seen) == 1
    finally:
        await executor.stop()
        await mock.close()
        journal.close()
        engine.dispose()


def test_static_rules() -> None:
    assert static_mode_problem("paper", AccountKind.REAL) is None
    assert static_mode_problem("demo", None) is None
    assert static_mode_problem("demo", AccountKind.DEMO) is None
    assert static_mode_problem("live", AccountKind.REAL) is None
    assert "mode: live" in (static_mode_problem("demo", AccountKind.REAL) or "")
    assert "trades only a real account" in (static_mode_problem("live", AccountKind.DEMO) or "")
    assert "paper account" in (static_mode_problem("demo", AccountKind.PAPER) or "")


def _order(client_req_id: str, *, account_id: str = "acc-1") -> OrderRequest:
    return OrderRequest(
        client_req_id=client_req_id,
        account_id=account_id,
        instrument="EURUSD",
        direction=Direction.UP,
        stake=1.0,
        duration_s=60,
        created_ts=START_TS,
    )
