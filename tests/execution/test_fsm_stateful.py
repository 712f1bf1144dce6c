"""Hypothesis drives the executor through random fault sequences from the MockConnector.

Each example is a fresh SQLite database, mock broker and fast-forward clock. Rules submit
orders, queue faults (429 storms, 5xx, disconnects, timeouts before and after the broker
accepted, rejections, auth failures), switch push anomalies (duplicates, reordering,
loss), add latency, drop the connection and let simulated time pass. After every step:
never more than one order per client_req_id at the broker. At the end (faults healed):
every order is SETTLED or FAILED, and storage and broker agree order by order, in
outcome, pnl and balance.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from moonlight.core.connectors.mock import FaultKind
from moonlight.core.execution.executor import OrderReport
from moonlight.core.orders import Direction, OrderState
from tests.execution.support import Harness, intent, make_harness

ACCOUNT = "acc-1"
STARTING_BALANCE = 10_000.0
PLACE_FAULTS = [
    FaultKind.RATE_LIMIT,
    FaultKind.SERVER_ERROR,
    FaultKind.DISCONNECT,
    FaultKind.TIMEOUT_BEFORE_ACCEPT,
    FaultKind.TIMEOUT_AFTER_ACCEPT,
    FaultKind.REJECT,
    FaultKind.AUTH,
]
QUERY_FAULTS = [
    FaultKind.RATE_LIMIT,
    FaultKind.SERVER_ERROR,
    FaultKind.DISCONNECT,
    FaultKind.TIMEOUT_BEFORE_ACCEPT,
]


class ExecutorUnderFaults(RuleBasedStateMachine):
    """One executor, one mock broker; hypothesis chooses what goes wrong and when."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="moonlight-fsm-"))
        self.h: Harness = self.loop.run_until_complete(make_harness(self.dir / "db.sqlite"))
        self.tasks: dict[str, asyncio.Task[OrderReport]] = {}

    # -- rules ------------------------------------------------------------------------

    @rule(
        duration_s=st.sampled_from([5, 15, 30, 60]),
        stake=st.sampled_from([1.0, 10.0, 25.5, 100.0]),
        direction=st.sampled_from(list(Direction)),
    )
    def submit(self, duration_s: int, stake: float, direction: Direction) -> None:
        if not self.h.executor.trading_allowed and self.h.executor.storage_healthy:
            self.h.executor.resume_trading()  # an operator re-arms after an auth failure
        cid = f"o-{len(self.tasks)}"
        order = intent(cid, duration_s=duration_s, stake=stake, direction=direction)
        self.tasks[cid] = self.loop.create_task(self.h.executor.execute(order))

    @rule(kind=st.sampled_from(PLACE_FAULTS), count=st.integers(1, 4))
    def fault_next_sends(self, kind: FaultKind, count: int) -> None:
        self.h.mock.faults.place.extend([kind] * count)

    @rule(kind=st.sampled_from(QUERY_FAULTS), count=st.integers(1, 6))
    def fault_next_queries(self, kind: FaultKind, count: int) -> None:
        self.h.mock.faults.query.extend([kind] * count)

    @rule(retry_after_s=st.sampled_from([0.5, 2.0, 5.0]))
    def set_retry_after(self, retry_after_s: float) -> None:
        self.h.mock.faults.retry_after_s = retry_after_s

    @rule(duplicate=st.booleans(), reorder=st.booleans(), drop=st.booleans())
    def push_anomalies(self, duplicate: bool, reorder: bool, drop: bool) -> None:
        faults = self.h.mock.faults
        faults.duplicate_pushes, faults.reorder_pushes, faults.drop_pushes = (
            duplicate,
            reorder,
            drop,
        )

    @rule(latency_s=st.sampled_from([0.0, 0.2, 1.5]), ack_latency_s=st.sampled_from([0.0, 2.0]))
    def latency(self, latency_s: float, ack_latency_s: float) -> None:
        self.h.mock.faults.latency_s = latency_s
        self.h.mock.faults.ack_latency_s = ack_latency_s

    @rule()
    def drop_connection(self) -> None:
        self.h.mock.drop_connection()

    @precondition(lambda self: bool(self.tasks))
    @rule(seconds=st.floats(0.1, 90.0))
    def let_time_pass(self, seconds: float) -> None:
        clock = self.h.clock
        self.loop.run_until_complete(clock.sleep_until(clock.now() + seconds))

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def never_two_orders_for_one_decision(self) -> None:
        for cid in self.tasks:
            assert self.h.mock.placements(cid) <= 1, f"{cid} placed twice at the broker"

    # -- the end ----------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            self._heal_and_finish()
            self._check_agreement()
        finally:
            self.loop.run_until_complete(self.h.close())
            leftovers = asyncio.all_tasks(self.loop)  # e.g. the clock's idle driver
            for task in leftovers:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _heal_and_finish(self) -> None:
        self.h.mock.faults.clear()
        pending = [t for t in self.tasks.values() if not t.done()]
        if pending:
            _done, still = self.loop.run_until_complete(asyncio.wait(pending, timeout=60.0))
            assert not still, f"{len(still)} orders never finished"
        for cid, task in self.tasks.items():
            error = task.exception()
            assert error is None or type(error).__name__ == "TradingHalted", (cid, error)

    def _check_agreement(self) -> None:
        h = self.h
        stored = h.orders()
        results = h.results()
        broker = {o.client_req_id: o for o in h.mock.all_orders()}
        assert set(broker) <= set(stored), "an order at the broker is missing from storage"
        for cid, order in stored.items():
            assert order.state in (OrderState.SETTLED, OrderState.FAILED), (cid, order.state)
            result = results[cid]
            at_broker = broker.get(cid)
            if at_broker is None:
                assert order.state is OrderState.FAILED, cid
                assert result.pnl == 0.0, cid
                continue
            assert at_broker.settlement is not None, cid
            assert order.state is OrderState.SETTLED, (cid, order.failure_reason)
            assert order.broker_order_id == at_broker.broker_order_id
            assert result.outcome is at_broker.settlement.outcome
            assert result.pnl == pytest.approx(at_broker.settlement.pnl)
        balance = h.mock.book_balance(ACCOUNT)
        stored_pnl = sum(results[cid].pnl for cid in broker)
        assert balance == pytest.approx(STARTING_BALANCE + stored_pnl)


ExecutorUnderFaults.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_executor_under_random_faults = ExecutorUnderFaults.TestCase
