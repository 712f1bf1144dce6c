"""Issue 13, Deriv: storage equals the broker's book, checked against the strict fake
(tests/support/deriv_broker.py, written from the protocol brief).

On main, a buy whose reply was lost followed by an outage long enough for the contract to
settle was stored FAILED ("not at the broker"), outcome abort, PnL 0, while the broker
had settled it: the lookup compared ``FRXGBPUSD`` (shortcode) with ``frxGBPUSD`` and read
only the first profit_table page. A restart after expiry took the same path.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from moonlight.connectors.deriv.config import DerivConfig
from moonlight.connectors.deriv.correlation import IdenticalOrderPending
from moonlight.core.connectors.contract import OrderRequest, Rejected
from moonlight.core.orders import Direction, OrderState
from tests.connectors.deriv.conftest import eventually
from tests.connectors.deriv.truth import (
    ACCOUNT,
    SYMBOL,
    Desk,
    broker_and_clock,
    desk_db,
    finished,
)
from tests.support.broker_book import stored_deals


async def test_a_lost_buy_reply_then_an_outage_past_expiry_stores_the_real_result(
    tmp_path: Path,
) -> None:
    async with broker_and_clock(seed=3) as (broker, clock):
        desk = Desk(broker, clock, desk_db(tmp_path, "outage"))
        await desk.open()
        try:
            broker.faults.lose_reply["buy"] = 1
            target = desk.submit("target", stake=5.0, up=False)
            await eventually(lambda: broker.contracts)  # the target is bought first ...
            # ... then eight more that settle after it: the target ends on page 2 of
            # profit_table (the fake's pages hold 5 rows, newest first)
            others = [desk.submit(f"other-{i}", stake=6.0 + i, up=i % 2 == 0) for i in range(8)]
            await eventually(lambda: len(broker.contracts) == 9)
            await broker.outage(40.0)  # every contract settles while the service is down
            await finished([target, *others])
            [deal] = [d for d in broker.contracts.values() if d.buy_price == 5.0]
            assert deal.sell_price is not None
            assert target.result().state is OrderState.SETTLED
            assert desk.audit() == []
        finally:
            await desk.close()


async def test_a_restart_after_expiry_finds_the_settled_contract(tmp_path: Path) -> None:
    async with broker_and_clock(seed=4) as (broker, clock):
        db = desk_db(tmp_path, "restart")
        desk = Desk(broker, clock, db)
        await desk.open()
        try:
            for i in range(6):  # history, so the lookup has pages to read
                desk.submit(f"early-{i}", stake=7.0 + i, up=i % 2 == 1)
            await eventually(lambda: len(broker.contracts) == 6)
            broker.faults.outage_after_buy = 1
            broker.faults.outage_s = 30.0  # no reconnect before the engine stops
            await asyncio.sleep(0.05)
            desk.submit("target", stake=5.0, up=True)
            await eventually(lambda: any(d.buy_price == 5.0 for d in broker.contracts.values()))
            await desk.close()  # the engine stops with the target unresolved
            [deal] = [d for d in broker.contracts.values() if d.buy_price == 5.0]
            await clock.sleep_until(deal.expiry + 20)  # restarted after expiry and outage
            assert deal.sell_price is not None
            await desk.open()
            await desk.settle_all()
            stored = {s.client_req_id: s for s in stored_deals(desk.sessions())}
            assert stored["target"].state is OrderState.SETTLED
            assert stored["target"].broker_order_id == str(deal.contract_id)
            assert desk.audit() == []
        finally:
            await desk.close()


async def test_identical_concurrent_orders_reach_the_broker_once(tmp_path: Path) -> None:
    async with broker_and_clock(seed=5) as (broker, clock):
        desk = Desk(broker, clock, desk_db(tmp_path, "twins"))
        await desk.open()
        try:
            assert desk.connector is not None
            requests = [
                OrderRequest(f"twin-{i}", ACCOUNT, SYMBOL, Direction.UP, 5.0, 15, clock.now())
                for i in range(5)
            ]
            results = await asyncio.gather(
                *(desk.connector.place_order(r) for r in requests), return_exceptions=True
            )
            placed = [r for r in results if not isinstance(r, BaseException)]
            assert len(placed) == 1 and len(broker.contracts) == 1
            assert all(isinstance(r, IdenticalOrderPending) for r in results if r not in placed)
        finally:
            await desk.close()


@pytest.mark.parametrize(
    ("moves", "move_pct", "placed"), [(1, 0.5, True), (1, 5.0, False), (2, 0.1, False)]
)
async def test_price_moved_is_requoted_once_within_the_bound(
    tmp_path: Path, moves: int, move_pct: float, placed: bool
) -> None:
    async with broker_and_clock(seed=6) as (broker, clock):
        desk = Desk(
            broker, clock, desk_db(tmp_path, "moved"), overrides={"price_moved_slippage_pct": 1.0}
        )
        await desk.open()
        try:
            assert desk.connector is not None
            broker.faults.price_moved, broker.faults.price_move_pct = moves, move_pct
            request = OrderRequest("moved-1", ACCOUNT, SYMBOL, Direction.UP, 5.0, 15, clock.now())
            if placed:
                ack = await desk.connector.place_order(request)
                assert [str(c) for c in broker.contracts] == [ack.broker_order_id]
            else:
                with pytest.raises(Rejected) as refused:
                    await desk.connector.place_order(request)
                assert refused.value.code == "price_moved"
                assert broker.contracts == {}
            assert broker.faults.price_moved == 0
            # a rejected order released its reservation: the next identical one may go
            if not placed:
                retry = OrderRequest("moved-2", ACCOUNT, SYMBOL, Direction.UP, 5.0, 15, clock.now())
                await desk.connector.place_order(retry)
                assert len(broker.contracts) == 1
        finally:
            await desk.close()


async def test_an_order_sent_after_a_restart_is_never_matched_to_an_earlier_lost_send(
    tmp_path: Path,
) -> None:
    """Found by the fault schedules: a buy lost in an outage (never executed), then an
    engine restart, then an identical order. The new process knew nothing of the lost
    send, so the identical order went out and the lost send's lookup matched *its*
    contract: one deal stored under two orders. The lookup now holds the lost send like
    any unresolved one, so the identical order waits until it is resolved."""
    async with broker_and_clock(seed=8) as (broker, clock):
        desk = Desk(broker, clock, desk_db(tmp_path, "twin-restart"))
        await desk.open()
        try:
            broker.faults.outage_before_buy, broker.faults.outage_s = 1, 3.0
            first = desk.submit("lost", stake=5.0, up=True)
            await eventually(lambda: broker.calls_of("buy") == 1)
            await desk.restart()
            second = desk.submit("twin", stake=5.0, up=True)
            await finished([first, second])
            await desk.settle_all()
            assert len(broker.contracts) <= 1
            assert desk.audit() == []
        finally:
            await desk.close()


async def test_after_a_restart_a_lost_send_is_never_matched_to_a_stored_twin(
    tmp_path: Path,
) -> None:
    """Found by the fault schedules under load: order ``first`` is bought and stored with
    its contract; an identical ``second`` is bought but its reply is lost in an outage and
    the engine restarts. The new process's lookup saw two identical contracts and took the
    earliest -- ``first``'s: one deal stored under two orders, the other unknown. The
    lookup now binds what storage already holds before matching."""
    async with broker_and_clock(seed=9) as (broker, clock):
        desk = Desk(broker, clock, desk_db(tmp_path, "stored-twin"))
        await desk.open()
        try:
            first = desk.submit("first", stake=5.0, up=True, duration_s=30)
            await eventually(lambda: any(s.broker_order_id for s in stored_deals(desk.sessions())))
            broker.faults.outage_after_buy, broker.faults.outage_s = 1, 10.0
            desk.submit("second", stake=5.0, up=True, duration_s=30)
            await eventually(lambda: len(broker.contracts) == 2)
            await desk.close()
            await finished([first])
            await clock.sleep_until(broker.now() + 12)
            await desk.open()
            await desk.settle_all()
            stored = {s.client_req_id: s.broker_order_id for s in stored_deals(desk.sessions())}
            bought = {
                d.passthrough["client_req_id"]: str(d.contract_id)
                for d in broker.contracts.values()
            }
            assert stored == bought
            assert desk.audit() == []
        finally:
            await desk.close()


@pytest.mark.parametrize("bound", [float("inf"), float("nan"), -0.1, 10.5, "1e400"])
def test_the_price_moved_bound_must_be_finite_and_in_range(bound: object) -> None:
    with pytest.raises(ValidationError, match="price_moved_slippage_pct"):
        DerivConfig(app_id=1089, price_moved_slippage_pct=bound)
    assert DerivConfig(app_id=1089).price_moved_slippage_pct == 1.0
