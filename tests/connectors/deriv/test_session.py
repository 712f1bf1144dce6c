"""Full paper-style sessions against the fake server: connect, authorise, instruments,
candles, order, settlement -- on the legacy socket and on the new API's OTP URL."""

from __future__ import annotations

import asyncio

import pytest

from moonlight.connectors.deriv.link import LinkState
from moonlight.core.connectors.contract import BrokerOrderStatus, Settlement
from moonlight.core.orders import Direction, Outcome
from moonlight.core.runtime.clock import ScaledClock
from tests.connectors.deriv.conftest import (
    DEMO_LOGIN,
    PAT,
    MakeConnector,
    eventually,
    next_item,
    order,
)
from tests.connectors.deriv.fake_server import FakeDerivServer


def _agrees(settlement: Settlement, server: FakeDerivServer) -> None:
    """A reported settlement says exactly what the fake broker's book says."""
    contract = server.contracts[int(settlement.broker_order_id)]
    assert settlement.client_req_id == contract.client_req_id
    assert contract.status in ("won", "lost")
    assert settlement.outcome is (Outcome.WIN if contract.status == "won" else Outcome.LOSE)
    assert contract.sell_price is not None
    assert settlement.pnl == pytest.approx(contract.sell_price - contract.buy_price)
    assert settlement.entry_price == contract.entry_tick
    assert settlement.exit_price == contract.exit_tick
    assert settlement.settled_ts == contract.sell_time


async def test_full_session_on_the_legacy_api(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector()
    await connector.connect()
    assert connector.state is LinkState.READY
    assert connector.report()["account_kind"] == "demo"
    assert server.calls_of("authorize") == 1
    assert abs(await connector.server_time() - server.now()) <= 1.0

    instruments = {i.symbol: i for i in await connector.instruments()}
    r100 = instruments["R_100"]
    assert (r100.payout_pct, r100.stake_min, r100.stake_max) == (95.0, 0.35, 3000.0)
    assert r100.is_open and r100.check(10.0, 15) is None and r100.digits == 2
    assert instruments["frxEURUSD"].durations_s[0] == 60  # its minimum is 60 s
    assert instruments["frxEURUSD"].payout_pct == 82.0
    assert not instruments["OTC_CLOSED"].is_open

    candles = await connector.candles("R_100", 60, count=10)
    assert len(candles) == 10
    now = server.now()
    for candle in candles:
        assert candle.start_ts % 60 == 0 and candle.end_ts <= now
        expected = server._candle("R_100", int(candle.start_ts), 60, now)
        assert expected is not None
        assert (candle.open, candle.high, candle.low, candle.close) == (
            expected["open"],
            expected["high"],
            expected["low"],
            expected["close"],
        )

    settlements = connector.subscribe_settlements("acc-1")
    request = order(clock, "session-1")
    ack = await connector.place_order(request)
    [contract] = server.contracts_for_client("session-1")
    assert ack.broker_order_id == str(contract.contract_id)
    assert contract.contract_type == "CALL" and contract.buy_price == 10.0
    assert ack.expires_ts == contract.date_expiry == ack.accepted_ts + 15
    assert ack.payout_pct == pytest.approx(95.0)

    open_ids = {o.broker_order_id for o in await connector.open_orders("acc-1")}
    assert ack.broker_order_id in open_ids
    settlement = await next_item(settlements, timeout_s=8.0)
    _agrees(settlement, server)
    status = await connector.order_status("acc-1", ack.broker_order_id)
    assert status is not None and status.status is BrokerOrderStatus.SETTLED
    assert status.settlement == settlement
    found = await connector.find_order(request)
    assert found is not None and found.broker_order_id == ack.broker_order_id
    balance = await connector.balance("acc-1")
    assert balance.amount == pytest.approx(server.accounts[DEMO_LOGIN].balance)
    assert balance.amount == pytest.approx(10_000.0 + settlement.pnl)
    assert len(server.contracts) == 1


async def test_full_session_on_the_new_api_otp_url(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector(api="new", deriv_account_id=DEMO_LOGIN, token=PAT)
    await connector.connect()
    assert server.otp_requests == 1 and server.calls_of("authorize") == 0
    assert connector.report()["account_kind"] == "demo"
    instruments = {i.symbol: i for i in await connector.instruments()}
    assert instruments["R_50"].payout_pct == 90.0
    candles = await connector.candles("R_50", 5, count=4)  # any granularity on the new API
    assert len(candles) == 4 and all(c.timeframe_s == 5 for c in candles)
    settlements = connector.subscribe_settlements("acc-1")
    ack = await connector.place_order(order(clock, "new-1", instrument="R_50"))
    settlement = await next_item(settlements, timeout_s=8.0)
    assert settlement.broker_order_id == ack.broker_order_id
    _agrees(settlement, server)  # payout/profit arrive as strings on the new API

    # A reconnect asks for a fresh one-time URL; the used one would be refused.
    await server.drop_all()
    await eventually(lambda: connector.state is LinkState.READY and server.otp_requests == 2)
    assert len(server.contracts) == 1


@pytest.mark.parametrize(
    ("allow_equal", "contract_type", "outcome"),
    [(False, "CALL", Outcome.LOSE), (True, "CALLE", Outcome.WIN)],
)
async def test_a_tie_loses_a_call_and_wins_a_calle(
    make_connector: MakeConnector,
    server: FakeDerivServer,
    clock: ScaledClock,
    allow_equal: bool,
    contract_type: str,
    outcome: Outcome,
) -> None:
    server.series["R_100"].freeze(server.now())
    connector = make_connector(allow_equal=allow_equal)
    await connector.connect()
    settlements = connector.subscribe_settlements("acc-1")
    await connector.place_order(order(clock, f"tie-{contract_type}"))
    settlement = await next_item(settlements, timeout_s=8.0)
    [contract] = server.contracts.values()
    assert contract.contract_type == contract_type
    assert settlement.entry_price == settlement.exit_price
    assert settlement.outcome is outcome
    _agrees(settlement, server)


async def test_put_orders_and_both_directions_settle_against_the_book(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector()
    await connector.connect()
    settlements = connector.subscribe_settlements("acc-1")
    acks = await asyncio.gather(
        *(
            # distinct stakes: identical concurrent orders are refused (one reservation)
            connector.place_order(order(clock, f"dir-{i}", direction=direction, stake=10.0 + i))
            for i, direction in enumerate([Direction.UP, Direction.DOWN] * 3)
        )
    )
    seen: dict[str, Settlement] = {}
    while len(seen) < len(acks):
        item = await next_item(settlements, timeout_s=8.0)
        seen[item.broker_order_id] = item
    for item in seen.values():
        _agrees(item, server)
    kinds = sorted(c.contract_type for c in server.contracts.values())
    assert kinds == ["CALL"] * 3 + ["PUT"] * 3
    balance = await connector.balance("acc-1")
    assert balance.amount == pytest.approx(10_000.0 + sum(s.pnl for s in seen.values()))


async def test_tick_and_candle_streams_are_gap_free_across_a_reconnect(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    connector = make_connector(api="new", deriv_account_id=DEMO_LOGIN, token=PAT)
    await connector.connect()
    ticks = connector.subscribe_ticks("R_100")
    candles = connector.subscribe_candles("R_100", 5)
    tick_times = [(await next_item(ticks)).ts for _ in range(5)]
    first_candle = await next_item(candles)
    await server.drop_all()
    await eventually(lambda: connector.link.stats.drops == 1)
    await asyncio.sleep(0.4)  # four server seconds of outage
    await eventually(lambda: connector.state is LinkState.READY)
    tick_times += [(await next_item(ticks)).ts for _ in range(15)]
    starts = [first_candle.start_ts] + [(await next_item(candles)).start_ts for _ in range(3)]
    assert tick_times == [tick_times[0] + i for i in range(len(tick_times))]
    assert starts == [starts[0] + 5 * i for i in range(4)]
    for start in starts[1:]:
        assert start + 5 <= server.now()  # only closed candles are emitted
    assert server.calls_of("ticks_history") == 4  # 2 feeds × 2 connections


async def test_closing_a_stream_forgets_the_server_subscription(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    connector = make_connector()
    await connector.connect()
    ticks = connector.subscribe_ticks("R_50")
    await next_item(ticks)
    await ticks.aclose()  # type: ignore[attr-defined]
    await eventually(lambda: server.calls_of("forget") == 1)
    await eventually(lambda: all(not c.streams for c in server._conns.values()))
