"""Fault scenarios on the wire: after each one, what the connector reports and the fake
broker's book agree -- no duplicate contract, no lost result."""

from __future__ import annotations

import asyncio

import pytest

from moonlight.connectors.deriv.link import LinkState
from moonlight.core.connectors.contract import (
    Ambiguous,
    AuthFailed,
    RateLimited,
    Settlement,
)
from moonlight.core.orders import Outcome
from moonlight.core.runtime.clock import ScaledClock
from tests.connectors.deriv.conftest import (
    MakeConnector,
    eventually,
    next_item,
    order,
)
from tests.connectors.deriv.fake_server import FakeDerivServer


def _matches_book(settlement: Settlement, server: FakeDerivServer) -> None:
    contract = server.contracts[int(settlement.broker_order_id)]
    assert contract.sell_price is not None
    assert settlement.outcome is (Outcome.WIN if contract.status == "won" else Outcome.LOSE)
    assert settlement.pnl == pytest.approx(contract.sell_price - contract.buy_price)
    assert settlement.client_req_id == contract.client_req_id


async def test_drop_before_the_buy_executes_is_ambiguous_then_found_absent(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector()
    await connector.connect()
    server.faults.buy_drops.append("before")
    request = order(clock, "drop-before")
    with pytest.raises(Ambiguous):
        await connector.place_order(request)
    await eventually(lambda: connector.state is LinkState.READY and connector.link.stats.drops)
    assert await connector.find_order(request) is None
    assert server.contracts == {}
    with pytest.raises(Ambiguous):  # an ambiguous send is never sent again under its id
        await connector.place_order(request)
    assert server.calls_of("buy") == 1


async def test_drop_after_the_buy_executes_is_found_and_settled_once(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector()
    await connector.connect()
    settlements = connector.subscribe_settlements("acc-1")
    server.faults.buy_drops.append("after")
    request = order(clock, "drop-after")
    with pytest.raises(Ambiguous):
        await connector.place_order(request)
    [contract] = server.contracts_for_client("drop-after")
    await eventually(lambda: connector.state is LinkState.READY)
    # Reconciliation on reconnect matched the contract before trading resumed.
    assert connector.correlation.contract_of("drop-after") == str(contract.contract_id)
    found = await connector.find_order(request)
    assert found is not None and found.broker_order_id == str(contract.contract_id)
    again = await connector.place_order(request)  # same id: the same contract, not a new one
    assert again.broker_order_id == str(contract.contract_id)
    settlement = await next_item(settlements, timeout_s=8.0)
    _matches_book(settlement, server)
    await asyncio.sleep(0.3)
    assert len(server.contracts) == 1 and server.calls_of("buy") == 1


async def test_lost_settlement_pushes_are_recovered_by_reconciliation(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector(settle_check_s=2.0)
    await connector.connect()
    settlements = connector.subscribe_settlements("acc-1")
    server.faults.lose_settlements = True
    ack = await connector.place_order(order(clock, "lost-push"))
    settlement = await next_item(settlements, timeout_s=8.0)
    assert server.pushes_lost >= 1
    assert settlement.broker_order_id == ack.broker_order_id
    _matches_book(settlement, server)
    # recovered by the overdue lookup, a couple of server seconds after expiry
    assert clock.now() >= ack.expires_ts + 2.0


async def test_settlement_after_a_drop_during_the_contract_is_reported(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector()
    await connector.connect()
    settlements = connector.subscribe_settlements("acc-1")
    ack = await connector.place_order(order(clock, "drop-mid", duration_s=15))
    server.faults.reject_handshakes = 1000  # the broker stays unreachable past expiry
    await server.drop_all()
    await eventually(lambda: clock.now() > ack.expires_ts + 1, timeout_s=5)
    assert server.contracts[int(ack.broker_order_id)].status != "open"
    server.faults.reject_handshakes = 0
    settlement = await next_item(settlements, timeout_s=8.0)
    assert settlement.broker_order_id == ack.broker_order_id
    _matches_book(settlement, server)


async def test_duplicate_pushes_are_reported_once(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector()
    await connector.connect()
    server.faults.duplicate_pushes = True
    settlements = connector.subscribe_settlements("acc-1")
    ticks = connector.subscribe_ticks("R_50")
    await connector.place_order(order(clock, "dup-1"))
    first = await next_item(settlements, timeout_s=8.0)
    _matches_book(first, server)
    with pytest.raises(TimeoutError):
        await next_item(settlements, timeout_s=0.5)
    times = [(await next_item(ticks)).ts for _ in range(8)]
    assert times == sorted(set(times)) and times[-1] - times[0] == 7


async def test_server_rate_limit_becomes_rate_limited_with_retry_after(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector(rate_limit_retry_s=0.2)
    await connector.connect()
    server.faults.rate_limit["buy"] = 1
    request = order(clock, "rl-1")
    with pytest.raises(RateLimited) as refused:
        await connector.place_order(request)
    assert refused.value.retry_after_s >= 0.2
    assert server.contracts == {}
    assert not connector.correlation.is_unresolved("rl-1")  # refused: may be retried
    await asyncio.sleep(refused.value.retry_after_s)
    ack = await connector.place_order(request)
    assert [c.contract_id for c in server.contracts.values()] == [int(ack.broker_order_id)]


async def test_latency_past_the_buy_timeout_is_ambiguous_and_the_late_reply_binds(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector(buy_timeout_s=0.5, request_timeout_s=2.0)
    await connector.connect()
    settlements = connector.subscribe_settlements("acc-1")
    server.faults.latency_s = 0.8
    request = order(clock, "slow-1")
    with pytest.raises(Ambiguous):
        await connector.place_order(request)
    [contract] = server.contracts.values()
    # The late answer carries passthrough.client_req_id: bound without any lookup.
    await eventually(lambda: connector.correlation.contract_of("slow-1") is not None)
    assert connector.correlation.contract_of("slow-1") == str(contract.contract_id)
    server.faults.latency_s = 0.0
    settlement = await next_item(settlements, timeout_s=8.0)
    assert settlement.client_req_id == "slow-1"
    _matches_book(settlement, server)
    assert server.calls_of("portfolio") == 1 and server.calls_of("profit_table") == 0


async def test_out_of_order_replies_reach_their_requests(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector()
    await connector.connect()
    server.faults.reorder_replies = True
    before = server.now()
    balance, now, candles, ack, instruments = await asyncio.gather(
        connector.balance("acc-1"),
        connector.server_time(),
        connector.candles("R_100", 60, count=5),
        connector.place_order(order(clock, "ooo-1")),
        connector.instruments(),
    )
    assert balance.amount == 10_000.0
    assert before <= now <= server.now()
    assert len(candles) == 5 and all(c.timeframe_s == 60 for c in candles)
    assert [c.client_req_id for c in server.contracts.values()] == ["ooo-1"]
    assert ack.broker_order_id == str(next(iter(server.contracts)))
    assert {i.symbol for i in instruments} >= {"R_100", "R_50"}


async def test_invalid_token_fails_once_without_a_reconnect_storm(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    connector = make_connector(token="not-a-token")
    with pytest.raises(AuthFailed, match="InvalidToken"):
        await connector.connect()
    await asyncio.sleep(0.5)
    assert connector.state is LinkState.FAILED
    assert server.calls_of("authorize") == 1 and len(server.handshakes) == 1
    # streams asked of a failed connector end at once instead of hanging
    for stream in (
        connector.subscribe_candles("R_100", 60),
        connector.subscribe_ticks("R_100"),
        connector.subscribe_settlements("acc-1"),
    ):
        with pytest.raises(AuthFailed):
            await next_item(stream, timeout_s=1.0)
    await connector.close()
    with pytest.raises(StopAsyncIteration):
        await next_item(connector.subscribe_ticks("R_50"), timeout_s=1.0)


async def test_a_revoked_token_stops_the_connector_after_one_retry(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    connector = make_connector()
    await connector.connect()
    settlements = connector.subscribe_settlements("acc-1")
    server.revoke("demo-token-0001")
    await server.drop_all()
    with pytest.raises(AuthFailed):
        await next_item(settlements, timeout_s=5.0)
    await asyncio.sleep(0.5)
    assert connector.state is LinkState.FAILED
    assert server.calls_of("authorize") == 2
    assert "InvalidToken" in (connector.report()["failure"] or "")


async def test_malformed_frames_are_counted_and_skipped(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    connector = make_connector()
    await connector.connect()
    for frame in ("not json", b"\xff\xfe\x00", '{"msg_type": 5}', "[1, 2]", '{"error": 3}'):
        server.inject(frame)
    await eventually(lambda: connector.session_stats.bad_frames == 5)
    assert connector.state is LinkState.READY
    assert (await connector.balance("acc-1")).amount == 10_000.0


@pytest.mark.parametrize(("code", "seen"), [(None, 1006), (1011, 1011), (1001, 1001)])
async def test_close_codes_and_refused_handshakes_lead_to_a_backed_off_reconnect(
    make_connector: MakeConnector, server: FakeDerivServer, code: int | None, seen: int
) -> None:
    connector = make_connector()
    await connector.connect()
    server.faults.reject_handshakes = 3
    await server.drop_all(code)
    await eventually(lambda: connector.state is LinkState.READY and connector.link.stats.drops)
    stats = connector.link.stats
    assert stats.failed_attempts == 3 and stats.connections == 2
    assert stats.last_close_code == seen  # 1006: dropped without a closing handshake
    assert len(stats.backoffs_s) == 4
    assert (await connector.balance("acc-1")).amount == 10_000.0


async def test_a_missing_pong_drops_and_reconnects(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    connector = make_connector(ping_interval_s=0.2, ping_timeout_s=0.2)
    await connector.connect()
    await eventually(lambda: server.calls_of("ping") >= 2)  # pings flow every interval
    server.faults.ignore_pings = True
    await eventually(lambda: connector.session_stats.ping_timeouts >= 1)
    server.faults.ignore_pings = False
    await eventually(lambda: connector.state is LinkState.READY and connector.link.stats.drops)
    assert connector.link.stats.connections >= 2
