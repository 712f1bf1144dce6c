"""Executor scenarios on the mock broker, a fast-forward clock and real SQLite storage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from moonlight.core.connectors.contract import OrderAck, OrderRequest, Rejected
from moonlight.core.connectors.mock import FaultKind, MockConnector
from moonlight.core.events import AlarmLevel
from moonlight.core.execution.executor import (
    HOOK_ALARM,
    HOOK_SETTLED,
    HOOK_STATE_CHANGED,
    TradingHalted,
)
from moonlight.core.execution.observer import FinishedOrder
from moonlight.core.orders import OrderState, Outcome
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.storage.repository import DuplicateOrderError
from tests.execution.support import START_TS, fast_config, intent, make_harness


async def test_happy_path_settles_and_records_every_stage(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        report = await h.executor.execute(intent("o-1", decided_ts=START_TS - 0.25))
        assert report.state is OrderState.SETTLED
        broker = h.mock.all_orders()
        assert len(broker) == 1 and broker[0].settlement is not None
        assert report.outcome == broker[0].settlement.outcome
        assert report.pnl == pytest.approx(broker[0].settlement.pnl)

        order = h.orders()["o-1"]
        assert order.state is OrderState.SETTLED
        assert order.broker_order_id == broker[0].broker_order_id
        stamps = [order.prepared_at, order.sent_at, order.confirmed_at, order.settled_at]
        assert all(s is not None for s in stamps) and stamps == sorted(stamps)  # type: ignore[type-var]
        result = h.results()["o-1"]
        assert result.outcome == broker[0].settlement.outcome
        assert result.pnl == pytest.approx(broker[0].settlement.pnl)
        assert result.entry_price == broker[0].settlement.entry_price
        assert result.exit_price == broker[0].settlement.exit_price
        assert result.latency_decision_to_send_ms == pytest.approx(250.0)
        assert result.latency_send_to_ack_ms == pytest.approx(0.0)
        assert result.latency_expiry_to_settlement_ms is not None
        assert 0.0 <= result.latency_expiry_to_settlement_ms <= 1000.0  # settled by push

        transitions = [(e.from_state, e.to_state) for e in h.events.of(HOOK_STATE_CHANGED)]
        assert transitions == [
            ("IDLE", "PREPARE"),
            ("PREPARE", "SEND"),
            ("SEND", "CONFIRM"),
            ("CONFIRM", "SETTLED"),
        ]
        settled = h.events.of(HOOK_SETTLED)
        assert [(e.client_req_id, e.outcome) for e in settled] == [("o-1", report.outcome)]
    finally:
        await h.close()


async def test_send_is_persisted_before_the_broker_is_called(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    h = await make_harness(db)
    seen: list[str] = []
    reader = create_engine(f"sqlite:///{db}")

    def on_event(name: str, client_req_id: str) -> None:
        if name == "place_called":
            with reader.connect() as connection:
                state = connection.execute(
                    text("SELECT state FROM orders WHERE client_req_id = :c"), {"c": client_req_id}
                ).scalar_one()
            seen.append(state)

    h.mock.on_event = on_event
    try:
        h.mock.faults.place.extend([FaultKind.SERVER_ERROR])
        await h.executor.execute(intent("o-1"))
        assert seen == ["SEND", "SEND"]  # first try and the retry: both recorded first
    finally:
        reader.dispose()
        await h.close()


async def test_429_storm_is_retried_no_sooner_than_retry_after(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        h.mock.faults.retry_after_s = 3.0
        h.mock.faults.place.extend([FaultKind.RATE_LIMIT] * 3)
        report = await h.executor.execute(intent("o-1"))
        assert report.state is OrderState.SETTLED
        assert h.mock.placements("o-1") == 1
        order = h.orders()["o-1"]
        assert order.retry_count == 3
        assert order.confirmed_at is not None and order.sent_at is not None
        waited_s = (order.confirmed_at - order.sent_at).total_seconds()
        assert waited_s >= 9.0  # three Retry-After: 3 s honoured
    finally:
        await h.close()


async def test_transient_errors_exhaust_attempts_and_fail(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite", config=fast_config(max_send_attempts=3))
    try:
        h.mock.faults.storm_5xx(10)
        report = await h.executor.execute(intent("o-1"))
        assert report.state is OrderState.FAILED and report.outcome is Outcome.ABORT
        assert "gave up after 3 attempt" in (report.reason or "")
        assert h.mock.placements("o-1") == 0
        assert h.results()["o-1"].pnl == 0.0
        assert h.mock.calls["place_order"] == 3
    finally:
        await h.close()


async def test_rejection_fails_without_retry(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        report = await h.executor.execute(intent("o-1", stake=5000.0))  # above stake_max
        assert report.state is OrderState.FAILED
        assert (report.reason or "").startswith("rejected: stake 5000")
        assert h.mock.calls["place_order"] == 1
    finally:
        await h.close()


async def test_a_rejection_code_is_stored_on_the_order(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")

    async def refuse(request: OrderRequest) -> OrderAck:
        raise Rejected("the price moved", code="price_moved")

    h.mock.place_order = refuse  # type: ignore[method-assign]
    try:
        report = await h.executor.execute(intent("o-1"))
        assert report.state is OrderState.FAILED
        stored = h.orders()["o-1"]
        assert (stored.reason_code, stored.failure_reason) == (
            "price_moved",
            "rejected: the price moved [price_moved]",
        )
    finally:
        await h.close()


async def test_ambiguous_send_lost_on_the_way_is_never_resent(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        h.mock.faults.place.append(FaultKind.TIMEOUT_BEFORE_ACCEPT)
        report = await h.executor.execute(intent("o-1"))
        assert report.state is OrderState.FAILED
        assert "never arrived" in (report.reason or "")
        assert h.mock.calls["place_order"] == 1  # looked up, not re-sent
        assert h.mock.calls["find_order"] >= 1
        assert h.mock.placements("o-1") == 0
    finally:
        await h.close()


async def test_ambiguous_send_that_reached_the_broker_is_found_and_settled(
    tmp_path: Path,
) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        h.mock.faults.place.append(FaultKind.TIMEOUT_AFTER_ACCEPT)
        report = await h.executor.execute(intent("o-1"))
        assert report.state is OrderState.SETTLED
        assert h.mock.calls["place_order"] == 1
        assert h.mock.placements("o-1") == 1
        broker = h.mock.all_orders()[0]
        order = h.orders()["o-1"]
        assert order.broker_order_id == broker.broker_order_id
        assert "ambiguous send" in (order.failure_reason or "")
        assert broker.settlement is not None
        assert h.results()["o-1"].pnl == pytest.approx(broker.settlement.pnl)
    finally:
        await h.close()


async def test_lost_settlement_pushes_are_recovered_by_polling(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        h.mock.faults.drop_pushes = True
        report = await h.executor.execute(intent("o-1", duration_s=30))
        assert report.state is OrderState.SETTLED
        assert h.mock.calls.get("order_status", 0) >= 1
        latency = h.results()["o-1"].latency_expiry_to_settlement_ms
        assert latency is not None and latency >= 2000.0  # the first poll, not a push
    finally:
        await h.close()


async def test_duplicate_and_reordered_pushes_settle_each_order_once(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        h.mock.faults.duplicate_pushes = True
        h.mock.faults.reorder_pushes = True
        durations = [15 + 15 * (i % 2) for i in range(6)]
        tasks = [h.executor.submit(intent(f"o-{i}", duration_s=d)) for i, d in enumerate(durations)]
        reports = [await t for t in tasks]
        assert all(r.state is OrderState.SETTLED for r in reports)
        broker = {o.client_req_id: o for o in h.mock.all_orders()}
        for report in reports:
            settlement = broker[report.client_req_id].settlement
            assert settlement is not None and report.outcome == settlement.outcome
        assert len(h.events.of(HOOK_SETTLED)) == 6
    finally:
        await h.close()


async def test_disconnect_during_send_is_retried_after_reconnect(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        h.mock.faults.reconnect_after_s = 1.5
        h.mock.faults.place.append(FaultKind.DISCONNECT)
        report = await h.executor.execute(intent("o-1"))
        assert report.state is OrderState.SETTLED
        assert h.mock.placements("o-1") == 1
        assert h.orders()["o-1"].retry_count >= 1
    finally:
        await h.close()


async def test_auth_failure_fails_the_order_and_halts_trading(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        h.mock.faults.place.append(FaultKind.AUTH)
        report = await h.executor.execute(intent("o-1"))
        assert report.state is OrderState.FAILED
        assert not h.executor.trading_allowed
        alarms = h.events.of(HOOK_ALARM)
        assert [(a.level, a.code) for a in alarms] == [(AlarmLevel.CRITICAL, "auth_failed")]
        with pytest.raises(TradingHalted):
            await h.executor.execute(intent("o-2"))
        assert "o-2" not in h.orders()
        h.executor.resume_trading()
        assert (await h.executor.execute(intent("o-3"))).state is OrderState.SETTLED
    finally:
        await h.close()


async def test_no_settlement_by_the_deadline_aborts_with_reason_and_alarm(tmp_path: Path) -> None:
    clock = FastForwardClock(START_TS)
    mock = MockConnector(seed=3, clock=clock, settle_delay_s=10_000.0)  # never settles in time
    h = await make_harness(
        tmp_path / "db.sqlite",
        clock=clock,
        mock=mock,
        config=fast_config(settle_grace_s=20.0, still_open_wait_s=300.0),
    )
    try:
        report = await h.executor.execute(intent("o-1", duration_s=60))
        assert report.state is OrderState.FAILED
        assert report.pnl == -10.0
        assert "still open at the broker" in (report.reason or "")
        # deadline at expiry + 20 s, then up to 300 s more while the broker says "open"
        assert h.clock.now() - START_TS == pytest.approx(380.0, abs=2.5)
        assert [a.code for a in h.alarms()] == ["settlement_late", "settlement_missing"]
    finally:
        await h.close()


async def test_a_late_result_after_the_deadline_is_still_recorded(tmp_path: Path) -> None:
    clock = FastForwardClock(START_TS)
    mock = MockConnector(seed=3, clock=clock, settle_delay_s=120.0)  # settles 2 minutes late
    h = await make_harness(
        tmp_path / "db.sqlite",
        clock=clock,
        mock=mock,
        config=fast_config(settle_grace_s=20.0, still_open_wait_s=300.0),
    )
    try:
        report = await h.executor.execute(intent("o-1", duration_s=60))
        assert report.state is OrderState.SETTLED
        assert report.outcome is not None and report.outcome.value != "abort"
        assert [a.code for a in h.alarms()] == ["settlement_late"]
        assert h.mock.placements("o-1") == 1
    finally:
        await h.close()


async def test_a_client_req_id_is_used_once(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        await h.executor.execute(intent("o-1"))
        with pytest.raises(DuplicateOrderError):
            await h.executor.execute(intent("o-1"))
        assert h.mock.placements("o-1") == 1
    finally:
        await h.close()


async def test_observer_that_raises_does_not_break_the_executor(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")

    def broken(hook_name: str, **kwargs: object) -> int:
        raise RuntimeError("notifier down")

    h.executor._notify = broken
    try:
        assert (await h.executor.execute(intent("o-1"))).state is OrderState.SETTLED
    finally:
        await h.close()


async def test_unreachable_broker_after_ambiguous_send_is_asked_until_it_answers(
    tmp_path: Path,
) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    try:
        h.mock.faults.place.append(FaultKind.TIMEOUT_AFTER_ACCEPT)
        h.mock.faults.drop_pushes = True  # only lookups can find it
        h.mock.faults.query.extend([FaultKind.SERVER_ERROR] * 40)  # ~ minutes of outage
        report = await h.executor.execute(intent("o-1", duration_s=15))
        assert report.state is OrderState.SETTLED  # found once the broker answered
        assert h.mock.placements("o-1") == 1
        assert not h.mock.faults.query  # every failing lookup was spent first
        assert "order_unknown" in [a.code for a in h.alarms()]  # but nobody guessed
    finally:
        await h.close()


async def test_unreachable_broker_past_the_deadline_delays_but_never_falsifies(
    tmp_path: Path,
) -> None:
    h = await make_harness(tmp_path / "db.sqlite", config=fast_config(settle_grace_s=5.0))
    try:
        h.mock.faults.drop_pushes = True
        h.mock.faults.query.extend([FaultKind.RATE_LIMIT] * 25)
        report = await h.executor.execute(intent("o-1", duration_s=15))
        broker = h.mock.all_orders()[0]
        assert broker.settlement is not None
        assert report.state is OrderState.SETTLED
        assert report.outcome is broker.settlement.outcome
        assert h.clock.now() - START_TS > 15 + 5  # well past the deadline
        assert [a.code for a in h.alarms()] == ["settlement_overdue"]
    finally:
        await h.close()


async def test_results_of_one_instant_are_one_group_commit_booked_inside_it(
    tmp_path: Path,
) -> None:
    """Orders that settle at the same instant: the account's observer books each result
    while it is staged (inside the journal's bookkeeping block, before the commit, so
    its guard state joins it); storage receives all of them in one flush; the order
    state and the plugin hook change only after that commit."""
    h = await make_harness(tmp_path / "db.sqlite", start=False)
    group = h.journal.group
    group.keep_timings = True

    seen: list[tuple[str, bool, OrderState]] = []

    class Books:
        def order_resumed(self, account_id: str, instrument: str, client_req_id: str) -> None:
            raise AssertionError("nothing to resume")

        def order_finished(self, finished: FinishedOrder) -> None:
            cid = finished.event.client_req_id
            seen.append((cid, group.is_collecting, h.orders()[cid].state))

    h.executor.report_to(Books())
    await h.executor.start(["acc-1"])
    try:
        reports = await asyncio.gather(
            *(h.executor.submit(intent(f"o-{n}", duration_s=60)) for n in range(6))
        )
        assert {r.state for r in reports} == {OrderState.SETTLED}
        assert sorted(seen) == [(f"o-{n}", True, OrderState.CONFIRM) for n in range(6)]
        assert group.flush_rows == [6]  # six results, one transaction
        assert set(h.results()) == {f"o-{n}" for n in range(6)}
        settled_hooks = [e.client_req_id for e in h.events.of(HOOK_SETTLED)]
        assert sorted(settled_hooks) == [f"o-{n}" for n in range(6)]
    finally:
        await h.close()
