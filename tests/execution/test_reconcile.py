"""Start-up reconciliation of stored non-terminal orders against the mock broker's book."""

from __future__ import annotations

from pathlib import Path

import pytest

from moonlight.core.connectors.contract import OrderRequest
from moonlight.core.connectors.mock import FaultKind
from moonlight.core.execution.executor import TradingHalted
from moonlight.core.execution.reconcile_report import ReconcileError, ReconcileReport
from moonlight.core.orders import Direction, OrderState, Outcome
from tests.execution.support import START_TS, Harness, fast_config, intent, make_harness


def _request(cid: str, stake: float = 10.0, duration_s: int = 60) -> OrderRequest:
    return OrderRequest(cid, "acc-1", "EURUSD", Direction.UP, stake, duration_s, START_TS)


def _store(h: Harness, cid: str, state: OrderState, broker_order_id: str | None = None) -> None:
    """Leave order ``cid`` stored in ``state``, as a killed process would have."""
    now = h.clock.now()
    h.journal.create(intent(cid), at_ts=now)
    if state is OrderState.PREPARE:
        return
    h.journal.transition(cid, OrderState.PREPARE, OrderState.SEND, at_ts=now)
    if state is OrderState.CONFIRM:
        h.journal.transition(
            cid, OrderState.SEND, OrderState.CONFIRM, at_ts=now, broker_order_id=broker_order_id
        )


async def _start(h: Harness) -> ReconcileReport:
    report = await h.executor.start(["acc-1"])
    assert isinstance(report, ReconcileReport)
    return report


async def test_orders_that_never_left_are_failed(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite", start=False)
    try:
        _store(h, "prep", OrderState.PREPARE)
        with pytest.raises(TradingHalted):
            await h.executor.execute(intent("early"))  # nobody trades before reconciliation
        report = await _start(h)
        assert report.failed == ["prep"] and report.checked == 1
        order = h.orders()["prep"]
        assert order.state is OrderState.FAILED
        assert "interrupted before send" in (order.failure_reason or "")
        assert h.results()["prep"].outcome is Outcome.ABORT
        assert h.mock.placements("prep") == 0
        assert h.executor.trading_allowed
    finally:
        await h.close()


async def test_send_found_at_the_broker_is_resumed_to_its_result(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite", start=False)
    try:
        _store(h, "sent", OrderState.SEND)
        await h.mock.place_order(_request("sent"))  # it did reach the broker before the crash
        report = await _start(h)
        assert report.resumed == ["sent"]
        await h.executor.wait_idle()
        broker = h.mock.all_orders()[0]
        order = h.orders()["sent"]
        assert order.state is OrderState.SETTLED
        assert order.broker_order_id == broker.broker_order_id
        assert broker.settlement is not None
        assert h.results()["sent"].outcome is broker.settlement.outcome
        assert h.mock.placements("sent") == 1
    finally:
        await h.close()


async def test_send_not_at_the_broker_waits_for_the_grace_then_fails(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite", start=False, config=fast_config(ack_grace_s=5.0))
    try:
        _store(h, "lost", OrderState.SEND)
        report = await _start(h)
        assert report.failed == ["lost"]
        assert h.clock.now() - START_TS >= 5.0  # waited for a late arrival first
        assert h.orders()["lost"].state is OrderState.FAILED
        assert h.mock.placements("lost") == 0
    finally:
        await h.close()


async def test_confirm_already_settled_is_recorded_at_once(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite", start=False)
    try:
        ack = await h.mock.place_order(_request("done", duration_s=15))
        _store(h, "done", OrderState.CONFIRM, ack.broker_order_id)
        await h.clock.sleep_until(START_TS + 20)
        report = await _start(h)
        assert report.settled == ["done"]
        broker = h.mock.all_orders()[0]
        assert broker.settlement is not None
        result = h.results()["done"]
        assert result.outcome is broker.settlement.outcome
        assert result.pnl == pytest.approx(broker.settlement.pnl)
    finally:
        await h.close()


async def test_confirm_unknown_to_the_broker_fails(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite", start=False)
    try:
        _store(h, "ghost", OrderState.CONFIRM, "M99999999")
        report = await _start(h)
        assert report.failed == ["ghost"]
        assert "does not know" in (h.orders()["ghost"].failure_reason or "")
    finally:
        await h.close()


async def test_orphan_at_the_broker_is_adopted_with_an_alarm(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite", start=False)
    try:
        await h.mock.place_order(_request("stray"))
        report = await _start(h)
        assert report.adopted == ["stray"]
        assert [a.code for a in h.alarms()] == ["orphan_order"]
        await h.executor.wait_idle()
        assert h.orders()["stray"].state is OrderState.SETTLED
        again = await make_harness(tmp_path / "db.sqlite", clock=h.clock, mock=h.mock, start=False)
        assert (await _start(again)).adopted == []  # recorded once, never twice
        await again.executor.stop()
    finally:
        await h.close()


async def test_terminal_in_storage_but_open_at_broker_is_drift(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        h.mock.faults.place.append(FaultKind.TIMEOUT_BEFORE_ACCEPT)
        await h.executor.execute(intent("late"))  # FAILED: never arrived...
        await h.mock.place_order(_request("late"))  # ...but a delayed copy shows up anyway
        await h.executor.stop()
        again = await make_harness(tmp_path / "db.sqlite", clock=h.clock, mock=h.mock, start=False)
        report = await _start(again)
        assert report.drift == ["late"]
        assert "state_drift" in [a.code for a in again.alarms()]
        await again.executor.stop()
    finally:
        await h.close()


async def test_unreachable_broker_keeps_trading_off(tmp_path: Path) -> None:
    h = await make_harness(
        tmp_path / "db.sqlite", start=False, config=fast_config(reconcile_timeout_s=10.0)
    )
    try:
        _store(h, "sent", OrderState.SEND)
        h.mock.faults.query.extend([FaultKind.SERVER_ERROR] * 1000)
        with pytest.raises(ReconcileError):
            await h.executor.start(["acc-1"])
        assert not h.executor.trading_allowed
        assert h.orders()["sent"].state is OrderState.SEND  # left for the next attempt
    finally:
        await h.close()
