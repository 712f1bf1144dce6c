"""A full session against the loopback server: connect, bootstrap, market data, orders."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from moonlight.connectors.olymp import OlympConnector, SessionState
from moonlight.connectors.olymp.config import WEB_APP_BOOTSTRAP_GROUPS
from moonlight.core.connectors.contract import BrokerOrderStatus, Candle, OrderRequest, Settlement
from moonlight.core.orders import Direction, Outcome
from tests.connectors.olymp.fake_server import DEMO_ACCOUNT, LOCKED_ASSET, FakeOlympServer
from tests.connectors.olymp.support import olymp_connector

OUTCOMES = {"win": Outcome.WIN, "loose": Outcome.LOSE, "standoff": Outcome.PUSH}


def order(
    cid: str, *, stake: float = 10.0, duration_s: int = 1, account: str = "acc-1"
) -> OrderRequest:
    return OrderRequest(cid, account, "EURUSD", Direction.UP, stake, duration_s, time.time())


async def test_bootstrap_follows_the_web_app(
    olymp: OlympConnector, server: FakeOlympServer
) -> None:
    assert olymp.state is SessionState.READY
    assert [tuple(d) for d in server.received(98)] == list(WEB_APP_BOOTSTRAP_GROUPS)
    assert server.received(90), "no e:90 ping during bootstrap"
    assert olymp.trade_streams_ok  # 22 and 26 acknowledged
    _, headers = server.upgrades[0]
    assert headers["cookie"] == "access_token=access-1"
    assert headers["origin"] == "https://olymptrade.com"
    status = olymp.status()
    assert status["state"] == "ready" and status["accounts"] == {"9001": "demo", "7001": "real"}
    assert status["unknown_events"] == {110: 1, 602: 1}  # logged and ignored
    assert status["malformed_items"] == 0 and status["handler_errors"] == 0


async def test_server_time_tracks_the_broker_clock(
    olymp: OlympConnector, server: FakeOlympServer
) -> None:
    ticks = olymp.subscribe_ticks("EURUSD")
    for _ in range(8):  # tick times tighten the estimate beyond e:90's whole seconds
        await asyncio.wait_for(ticks.__anext__(), 2)
    assert abs(await olymp.server_time() - server.now()) < 0.35
    assert olymp.status()["server_offset_s"] == pytest.approx(server.skew_s, abs=0.35)


async def test_instruments_carry_payouts_limits_and_locks(olymp: OlympConnector) -> None:
    instruments = {i.symbol: i for i in await olymp.instruments()}
    assert instruments["EURUSD"].payout_pct == 82.0 and instruments["GBPUSD"].payout_pct == 80.0
    assert (instruments["EURUSD"].stake_min, instruments["EURUSD"].stake_max) == (1.0, 3000.0)
    assert instruments["EURUSD"].durations_s == (1, 2, 5, 60)
    assert instruments["BTCUSD_OTC"].digits == 2
    assert not instruments[LOCKED_ASSET].is_open


@pytest.mark.parametrize("reply_event, without_uuid", [(10, False), (1003, False), (1003, True)])
async def test_candle_history_pages_back_and_matches_the_server(
    server: FakeOlympServer, reply_event: int, without_uuid: bool
) -> None:
    server.faults.candle_reply_event = reply_event
    server.faults.candle_reply_without_uuid = without_uuid
    connector = olymp_connector(server)
    await connector.connect()
    try:
        candles = await connector.candles("EURUSD", 60, count=150)  # > one e:10 batch (100)
        assert len(candles) == 150
        starts = [c.start_ts for c in candles]
        assert starts == [starts[0] + 60 * i for i in range(150)]
        assert candles[-1].end_ts <= server.now()
        expected = server.market.candles("EURUSD", 60, count=150, end_ts=candles[-1].end_ts)
        assert [(c.open, c.high, c.low, c.close) for c in candles] == [
            (c.open, c.high, c.low, c.close) for c in expected
        ]
        assert len(server.received(10)) >= 2
    finally:
        await connector.close()


async def test_ticks_stream_the_server_prices(
    olymp: OlympConnector, server: FakeOlympServer
) -> None:
    stream = olymp.subscribe_ticks("GBPUSD")
    ticks = [await asyncio.wait_for(stream.__anext__(), 2) for _ in range(6)]
    assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)
    for tick in ticks:
        assert tick.price == server.market.price_at("GBPUSD", tick.ts)
    assert server.received(12) == [[{"pair": "GBPUSD"}]]


async def test_tick_subscription_falls_back_to_280(server: FakeOlympServer) -> None:
    server.faults.reject_tick_subscribe = 1
    connector = olymp_connector(server)
    await connector.connect()
    try:
        stream = connector.subscribe_ticks("EURUSD")
        tick = await asyncio.wait_for(stream.__anext__(), 3)
        assert tick.instrument == "EURUSD"
        assert server.received(280) == [[{"pair": "EURUSD"}]]
    finally:
        await connector.close()


async def _bars(stream: object, n: int, timeout_s: float) -> list[Candle]:
    iterator = stream.__aiter__()  # type: ignore[attr-defined]
    return [await asyncio.wait_for(iterator.__anext__(), timeout_s) for _ in range(n)]


async def test_live_candles_are_built_from_ticks_and_back_filled(
    olymp: OlympConnector, server: FakeOlympServer
) -> None:
    bars = await _bars(olymp.subscribe_candles("EURUSD", 2), 4, 5)
    starts = [b.start_ts for b in bars]
    assert starts == [starts[0] + 2 * i for i in range(4)]
    for bar in bars:
        (expected,) = server.market.candles("EURUSD", 2, count=1, end_ts=bar.end_ts)
        assert (bar.open, bar.high, bar.low, bar.close) == (
            expected.open,
            expected.high,
            expected.low,
            expected.close,
        )
    assert any(b.volume == 8 for b in bars), "no bar was built from the 8 ticks it holds"


async def test_candle_stream_survives_a_reconnect_without_a_gap(
    olymp: OlympConnector, server: FakeOlympServer
) -> None:
    stream = olymp.subscribe_candles("EURUSD", 1).__aiter__()
    first = await asyncio.wait_for(stream.__anext__(), 4)
    await server.drop_all()
    bars = [first] + [await asyncio.wait_for(stream.__anext__(), 6) for _ in range(5)]
    starts = [b.start_ts for b in bars]
    assert starts == [starts[0] + i for i in range(6)], "gap or disorder across the reconnect"
    assert olymp.session.stats.disconnects >= 1 and olymp.state is SessionState.READY


async def test_order_settles_by_push_and_moves_the_balance(
    olymp: OlympConnector, server: FakeOlympServer
) -> None:
    before = (await olymp.balance("acc-1")).amount
    pushed: list[Settlement] = []

    async def listen() -> None:
        async for item in olymp.subscribe_settlements("acc-1"):
            pushed.append(item)

    listener = asyncio.create_task(listen())
    try:
        request = order("session-1")
        ack = await olymp.place_order(request)
        (deal,) = server.deals_of(DEMO_ACCOUNT)
        assert ack.broker_order_id == str(deal.id) and ack.payout_pct == 82.0
        assert ack.accepted_ts == pytest.approx(deal.time_open)
        (sent,) = server.received(23)
        assert sent[0]["group"] == "demo" and sent[0]["account_id"] == int(DEMO_ACCOUNT)
        assert sent[0]["cat"] == "digital" and sent[0]["dir"] == "up" and sent[0]["duration"] == 1
        assert abs(sent[0]["timestamp"] / 1000 - deal.time_open) < 1.0  # ms, server clock
        found = await olymp.find_order(request)
        assert found is not None and found.broker_order_id == ack.broker_order_id
        for _ in range(60):
            if pushed:
                break
            await asyncio.sleep(0.1)
        (settlement,) = pushed
        assert settlement.outcome is OUTCOMES[deal.status]
        assert settlement.pnl == pytest.approx(deal.balance_change)
        assert settlement.exit_price == deal.curs_close
        status = await olymp.order_status("acc-1", ack.broker_order_id)
        assert status is not None and status.status is BrokerOrderStatus.SETTLED
        await asyncio.sleep(0.2)
        after = (await olymp.balance("acc-1")).amount
        assert after == pytest.approx(server.accounts[DEMO_ACCOUNT].amount)
        assert after == pytest.approx(before + settlement.pnl)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


@pytest.mark.parametrize(
    "status, outcome", [("win", Outcome.WIN), ("loose", Outcome.LOSE), ("standoff", Outcome.PUSH)]
)
async def test_close_statuses_map_to_outcomes(
    olymp: OlympConnector, server: FakeOlympServer, status: str, outcome: Outcome
) -> None:
    server.faults.force_status = status
    ack = await olymp.place_order(order(f"status-{status}"))
    for _ in range(60):
        view = await olymp.order_status("acc-1", ack.broker_order_id)
        if view is not None and view.settlement is not None:
            break
        await asyncio.sleep(0.1)
    assert view is not None and view.settlement is not None
    assert view.settlement.outcome is outcome
    expected = {"win": 8.2, "loose": -10.0, "standoff": 0.0}[status]
    assert view.settlement.pnl == pytest.approx(expected)


async def test_deals_are_paced(server: FakeOlympServer) -> None:
    connector = olymp_connector(server, deal_interval_s=1.0)
    await connector.connect()
    try:
        await asyncio.gather(*(connector.place_order(order(f"paced-{i}")) for i in range(3)))
        times = [t for t, e, _ in server.requests if e == 23]
        assert len(times) == 3
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 0.95, gaps
    finally:
        await connector.close()


async def test_spaced_subscriptions_pass_where_a_burst_is_refused(server: FakeOlympServer) -> None:
    server.faults.reject_burst_s = 0.05
    burst = olymp_connector(server, subscribe_interval_s=0.0)
    await burst.connect()
    assert not burst.trade_streams_ok  # bursts drew invalid_request: no trade streams
    await burst.close()
    spaced = olymp_connector(server, subscribe_interval_s=0.08)
    await spaced.connect()
    try:
        assert spaced.trade_streams_ok
    finally:
        await spaced.close()


async def test_repeated_client_req_id_returns_the_first_ack(
    olymp: OlympConnector, server: FakeOlympServer
) -> None:
    request = order("repeat-1")
    first = await olymp.place_order(request)
    second = await olymp.place_order(request)
    assert second.broker_order_id == first.broker_order_id
    assert len(server.received(23)) == 1 and len(server.deals_of(DEMO_ACCOUNT)) == 1
