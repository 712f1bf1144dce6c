"""Orders through MoonLight's real executor (FSM + OrderJournal on SQLite) against the
fake Deriv server: after every scenario, storage and the fake broker's book agree."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from moonlight.connectors.deriv.connector import DerivConnector
from moonlight.connectors.deriv.link import LinkState
from moonlight.core.execution.executor import Executor, ExecutorConfig
from moonlight.core.execution.journal import OrderIntent, OrderJournal
from moonlight.core.orders import Direction, OrderState, Outcome
from moonlight.core.runtime.clock import ScaledClock
from moonlight.core.storage.engine import session_factory
from moonlight.core.storage.models import Order, Result
from tests.connectors.deriv.conftest import MakeConnector, eventually
from tests.connectors.deriv.fake_server import FakeDerivServer
from tests.execution.support import Recorder, intent, migrated_sqlite

ACCOUNT = "acc-1"
MakeDesk = Callable[..., Awaitable["Desk"]]


def executor_config(**overrides: float) -> ExecutorConfig:
    """Executor timings in server seconds (the clock runs 10× real time)."""
    values: dict[str, float] = {
        "send_deadline_s": 40.0,
        "max_send_attempts": 8,
        "backoff_base_s": 1.0,
        "backoff_cap_s": 8.0,
        "ack_grace_s": 20.0,
        "lookup_interval_s": 2.0,
        "first_poll_delay_s": 3.0,
        "poll_interval_s": 2.0,
        "settle_grace_s": 40.0,
    }
    values.update(overrides)
    return ExecutorConfig(**values)


@dataclass
class Desk:
    """A connector, an executor on SQLite storage, and the fake broker behind them."""

    connector: DerivConnector
    executor: Executor
    engine: Engine
    journal: OrderJournal
    server: FakeDerivServer
    events: Recorder

    def rows(self) -> dict[str, tuple[Order, Result | None]]:
        with session_factory(self.engine)() as session:
            orders = {o.client_req_id: o for o in session.scalars(select(Order))}
            results = {r.order_id: r for r in session.scalars(select(Result))}
            return {cid: (o, results.get(o.id)) for cid, o in orders.items()}

    def assert_agreement(self) -> None:
        """Storage and the broker's book tell the same story for every order."""
        rows = self.rows()
        booked = {c.client_req_id for c in self.server.contracts.values()}
        assert booked <= set(rows), f"contracts unknown to storage: {booked - set(rows)}"
        for cid, (stored, result) in rows.items():
            contracts = self.server.contracts_for_client(cid)
            assert len(contracts) <= 1, f"{cid}: {len(contracts)} contracts at the broker"
            assert stored.state in (OrderState.SETTLED, OrderState.FAILED), cid
            assert result is not None, f"{cid}: no result stored"
            if stored.state is OrderState.SETTLED:
                [contract] = contracts
                assert stored.broker_order_id == str(contract.contract_id)
                assert contract.sell_price is not None
                won = contract.status == "won"
                assert result.outcome is (Outcome.WIN if won else Outcome.LOSE), cid
                assert result.pnl == pytest.approx(contract.sell_price - contract.buy_price)
                assert result.entry_price == contract.entry_tick
                assert result.exit_price == contract.exit_tick
            else:
                assert contracts == [], f"{cid} failed in storage but exists at the broker"
                assert result.outcome is Outcome.ABORT and result.pnl == 0.0


@pytest.fixture
async def make_desk(
    make_connector: MakeConnector,
    server: FakeDerivServer,
    clock: ScaledClock,
    tmp_path: Path,
) -> AsyncIterator[MakeDesk]:
    desks: list[Desk] = []

    async def make(config: ExecutorConfig | None = None, **options: object) -> Desk:
        connector = make_connector(**options)
        await connector.connect()
        engine = migrated_sqlite(tmp_path / f"desk-{len(desks)}.db")
        journal = OrderJournal(engine)
        events = Recorder()
        executor = Executor(
            connector=connector,
            journal=journal,
            clock=clock,
            config=config or executor_config(),
            notify=events,
            seed=5,
        )
        await executor.start([ACCOUNT])
        desk = Desk(connector, executor, engine, journal, server, events)
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        await desk.executor.stop()
        desk.journal.close()
        desk.engine.dispose()


def _intent(
    cid: str, direction: Direction = Direction.UP, instrument: str = "R_100"
) -> OrderIntent:
    return intent(
        cid, account_id=ACCOUNT, instrument=instrument, direction=direction, duration_s=15
    )


async def test_orders_settle_through_the_executor_and_storage_matches_the_book(
    make_desk: MakeDesk,
) -> None:
    desk = await make_desk()
    reports = await asyncio.gather(
        desk.executor.execute(_intent("ex-1")),
        desk.executor.execute(_intent("ex-2", Direction.DOWN)),
        desk.executor.execute(_intent("ex-3", instrument="R_50")),
    )
    assert [r.state for r in reports] == [OrderState.SETTLED] * 3
    assert len(desk.server.contracts) == 3
    desk.assert_agreement()
    transitions = [
        (e.from_state, e.to_state) for e in desk.events.of("moonlight_on_order_state_changed")
    ]
    assert transitions.count(("CONFIRM", "SETTLED")) == 3


async def test_a_dropped_connection_mid_deal_is_reconciled_by_the_executor(
    make_desk: MakeDesk,
) -> None:
    desk = await make_desk()
    desk.server.faults.buy_drops.extend(["after", "before"])
    executed, never = await asyncio.gather(
        desk.executor.execute(_intent("mid-1")),
        desk.executor.execute(_intent("mid-2", Direction.DOWN)),
    )
    states = {executed.client_req_id: executed, never.client_req_id: never}
    [contract] = desk.server.contracts.values()
    executed_cid = contract.client_req_id
    assert executed_cid is not None
    assert states[executed_cid].state is OrderState.SETTLED
    other = "mid-2" if executed_cid == "mid-1" else "mid-1"
    assert states[other].state is OrderState.FAILED
    assert "never arrived" in (states[other].reason or "")
    assert desk.server.calls_of("buy") == 2
    desk.assert_agreement()


async def test_a_lost_settlement_push_still_settles_the_stored_order(
    make_desk: MakeDesk,
) -> None:
    desk = await make_desk(settle_check_s=1000.0)  # leave it to the executor's polling
    desk.server.faults.lose_settlements = True
    report = await desk.executor.execute(_intent("lost-1"))
    assert report.state is OrderState.SETTLED
    assert desk.server.pushes_lost >= 1
    desk.assert_agreement()


async def test_rate_limits_and_latency_are_retried_never_duplicated(
    make_desk: MakeDesk,
) -> None:
    desk = await make_desk(buy_timeout_s=0.5)
    desk.server.faults.rate_limit.update({"proposal": 2, "buy": 1})
    first = await desk.executor.execute(_intent("rl-1"))
    assert first.state is OrderState.SETTLED
    stored, _ = desk.rows()["rl-1"]
    assert stored.retry_count == 3
    desk.server.faults.latency_s = 0.8  # past buy_timeout_s: ambiguous, late reply binds
    second = await desk.executor.execute(_intent("slow-1"))
    assert second.state is OrderState.SETTLED
    assert desk.server.calls_of("buy") == 3  # one refused, two executed; none repeated
    desk.assert_agreement()


async def test_a_restart_reconciles_an_order_left_in_send(
    make_desk: MakeDesk,
    make_connector: MakeConnector,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    desk = await make_desk()
    desk.server.faults.buy_drops.append("after")
    task = asyncio.get_running_loop().create_task(desk.executor.execute(_intent("crash-1")))
    await eventually(lambda: len(desk.server.contracts) == 1)
    await desk.executor.stop()  # the process dies: storage says CONFIRM without a broker id
    await asyncio.gather(task, return_exceptions=True)
    await desk.connector.close()
    fresh = make_connector()  # a new process: empty correlation book
    await fresh.connect()
    assert fresh.state is LinkState.READY
    executor = Executor(
        connector=fresh, journal=desk.journal, clock=clock, config=executor_config(), seed=6
    )
    try:
        await executor.start([ACCOUNT])
        await executor.wait_idle()
    finally:
        await executor.stop()
    desk.assert_agreement()
    stored, _ = desk.rows()["crash-1"]
    assert stored.state is OrderState.SETTLED
