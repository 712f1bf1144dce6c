"""Fault scenarios through the real executor: storage and the fake broker's book agree.

Every scenario ends with :meth:`Rig.assert_agreement` — no duplicate deal, no lost
result, no deal behind a failed order — plus what the scenario itself must show (the
request was never re-sent, the push was recovered by reconciliation, ...).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from moonlight.connectors.olymp import SessionState
from moonlight.core.connectors.contract import AuthFailed, OrderRequest
from moonlight.core.execution.journal import OrderIntent
from moonlight.core.orders import Direction, OrderState
from tests.connectors.olymp.fake_server import DEMO_ACCOUNT, FakeOlympServer
from tests.connectors.olymp.rig import rig, wall_config
from tests.connectors.olymp.support import eventually, olymp_connector
from tests.execution.support import intent


def decision(cid: str, *, duration_s: int = 1) -> OrderIntent:
    return intent(cid, account_id="acc-1", instrument="EURUSD", stake=10.0, duration_s=duration_s)


@pytest.mark.parametrize("latency_s", [0.0, 0.4])
async def test_orders_settle_and_agree(
    tmp_path: Path, server: FakeOlympServer, latency_s: float
) -> None:
    async with rig(tmp_path / "db.sqlite", server) as r:
        server.faults.latency_s = latency_s
        reports = await asyncio.gather(*(r.executor.execute(decision(f"ok-{i}")) for i in range(3)))
        assert [rep.state for rep in reports] == [OrderState.SETTLED] * 3
        stored = r.assert_agreement()
        assert len(stored) == 3 and len(server.deals) == 3


async def test_connection_dropped_after_the_deal_is_found_not_resent(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    server.faults.drop_after_deal = 1
    async with rig(tmp_path / "db.sqlite", server) as r:
        report = await r.executor.execute(decision("drop-after"))
        assert report.state is OrderState.SETTLED
        assert len(server.received(23)) == 1, "an ambiguous deal request was sent again"
        assert r.connector.session.stats.disconnects >= 1
        r.assert_agreement()


async def test_connection_dropped_before_the_deal_fails_cleanly(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    server.faults.drop_before_deal = 1
    async with rig(tmp_path / "db.sqlite", server) as r:
        report = await r.executor.execute(decision("drop-before"))
        assert report.state is OrderState.FAILED
        assert len(server.received(23)) == 1 and not server.deals
        r.assert_agreement()


async def test_lost_settlement_push_is_recovered(tmp_path: Path, server: FakeOlympServer) -> None:
    server.faults.lose_settlements = 1
    async with rig(tmp_path / "db.sqlite", server) as r:
        report = await r.executor.execute(decision("lost-push"))
        assert report.state is OrderState.SETTLED
        assert ("POST", "/v3/cabinet/deals-history") in server.http_requests
        r.assert_agreement()


async def test_settlement_lost_across_a_reconnect_is_recovered(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    async with rig(tmp_path / "db.sqlite", server) as r:
        task = r.executor.submit(decision("away", duration_s=2))
        await r.wait_state("away", (OrderState.CONFIRM,), 5)
        server.faults.lose_settlements = 1
        server.faults.storm_drops = 4  # the next connections die young while the deal closes
        server.faults.storm_after_s = 0.3
        await server.drop_all()
        report = await asyncio.wait_for(task, 30)
        assert report.state is OrderState.SETTLED
        r.assert_agreement()


async def test_duplicate_pushes_record_one_result(tmp_path: Path, server: FakeOlympServer) -> None:
    server.faults.duplicate_pushes = True
    async with rig(tmp_path / "db.sqlite", server) as r:
        seen = []

        async def listen() -> None:
            async for item in r.connector.subscribe_settlements("acc-1"):
                seen.append(item.broker_order_id)

        listener = asyncio.create_task(listen())
        reports = await asyncio.gather(
            *(r.executor.execute(decision(f"dup-{i}")) for i in range(2))
        )
        listener.cancel()
        assert [rep.state for rep in reports] == [OrderState.SETTLED] * 2
        assert sorted(seen) == sorted({str(d.id) for d in server.deals.values()})  # deduplicated
        r.assert_agreement()


async def test_rate_limit_errors_are_retried_after_retry_after(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    server.faults.rate_limit_deals = 2
    server.faults.retry_after_s = 0.4
    async with rig(tmp_path / "db.sqlite", server) as r:
        report = await r.executor.execute(decision("rate"))
        assert report.state is OrderState.SETTLED
        times = [t for t, e, _ in server.requests if e == 23]
        assert len(times) == 3 and len(server.deals) == 1
        assert all(b - a >= 0.39 for a, b in itertools.pairwise(times))
        r.assert_agreement()


async def test_reply_slower_than_the_order_timeout_is_linked_late(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    async with rig(tmp_path / "db.sqlite", server) as r:
        server.faults.deal_latency_s = 2.5  # order_timeout_s is 2.0: the send is ambiguous
        report = await r.executor.execute(decision("slow"))
        assert report.state is OrderState.SETTLED
        assert len(server.received(23)) == 1 and len(server.deals) == 1
        r.assert_agreement()


async def test_out_of_order_replies_reach_their_requests(server: FakeOlympServer) -> None:
    connector = olymp_connector(server)
    await connector.connect()
    try:
        server.faults.reorder_replies = True
        eur, gbp, btc, open_orders = await asyncio.gather(
            connector.candles("EURUSD", 60, count=5),
            connector.candles("GBPUSD", 60, count=5),
            connector.candles("BTCUSD_OTC", 60, count=5),
            connector.open_orders("acc-1"),
        )
        for pair, bars in (("EURUSD", eur), ("GBPUSD", gbp), ("BTCUSD_OTC", btc)):
            expected = server.market.candles(pair, 60, count=5, end_ts=bars[-1].end_ts)
            assert [(b.instrument, b.close) for b in bars] == [(pair, c.close) for c in expected]
        assert open_orders == []
    finally:
        server.faults.reorder_replies = False
        await server.flush_held()
        await connector.close()


async def test_invalid_token_close_renews_once_and_trading_resumes(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    async with rig(tmp_path / "db.sqlite", server) as r:
        server.valid_access.discard("access-1")  # the token expired at the broker
        await server.drop_all(1008, "invalid_token")
        await eventually(lambda: r.connector.session.stats.renewals == 1)
        await r.connector.session.wait_ready(5)
        assert server.upgrades[-1][1]["cookie"] == "access_token=access-r1"
        assert ("POST", "/api/token/renew/web/v1") in server.http_requests
        report = await r.executor.execute(decision("after-renewal"))
        assert report.state is OrderState.SETTLED
        r.assert_agreement()


async def test_invalid_token_without_renewal_stops_without_a_storm(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    connector = olymp_connector(server, refresh_token=None)
    async with rig(tmp_path / "db.sqlite", server, connector=connector) as r:
        server.valid_access.discard("access-1")
        await server.drop_all(1008, "invalid_token")
        await eventually(lambda: connector.state is SessionState.AUTH_FAILED, 2.0)
        upgrades = len(server.upgrades)
        await asyncio.sleep(1.0)
        assert len(server.upgrades) == upgrades == 1, "reconnected after an auth failure"
        with pytest.raises(AuthFailed, match="1008 invalid_token"):
            await connector.place_order(
                OrderRequest("auth-x", "acc-1", "EURUSD", Direction.UP, 10.0, 1, time.time())
            )
        report = await r.executor.execute(decision("auth-failed"))
        assert report.state is OrderState.FAILED and not r.executor.trading_allowed
        assert not server.received(23)
        r.assert_agreement()


async def test_renewed_token_refused_too_fails_after_one_renewal(server: FakeOlympServer) -> None:
    connector = olymp_connector(server)
    await connector.connect()
    try:
        server.faults.close_1008_on_connect = 5
        await server.drop_all(1008, "invalid_token")
        await eventually(lambda: connector.state is not SessionState.READY)
        with pytest.raises(AuthFailed):
            await connector.session.wait_ready(5)
        assert connector.session.stats.renewals == 1 and len(server.upgrades) == 2
        assert connector.status()["state"] == "auth_failed"
    finally:
        await connector.close()


async def test_reconnect_rebootstraps_resubscribes_and_reconciles_before_trading(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    async with rig(tmp_path / "db.sqlite", server) as r:
        bars = r.connector.subscribe_candles("EURUSD", 60)  # a stream that outlives sockets
        await eventually(lambda: len(server.received(12)) == 1)
        first = r.executor.submit(decision("before-drop", duration_s=5))
        await r.wait_state("before-drop", (OrderState.CONFIRM,), 5)
        await server.drop_all()
        second = await r.executor.execute(decision("after-drop"))
        assert second.state is OrderState.SETTLED
        assert (await asyncio.wait_for(first, 20)).state is OrderState.SETTLED
        kinds = [e for _, e, _ in server.requests]
        second_boot = [i for i, e in enumerate(kinds) if e == 98][
            len(r.connector.config.bootstrap_groups)
        ]
        after = kinds[second_boot:]
        assert after.index(12) < after.index(23), "ticks not re-subscribed before trading"
        await bars.aclose()  # type: ignore[attr-defined]
        assert after.index(31) < after.index(23), "open deals not reconciled before trading"
        r.assert_agreement()


async def test_restart_reconciles_an_ambiguous_order_by_its_terms(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    db = tmp_path / "db.sqlite"
    server.faults.drop_after_deal = 1
    server.faults.close_1008_on_connect = 0
    async with rig(db, server, config=wall_config(ack_grace_s=30.0)) as r:
        r.executor.submit(decision("restart", duration_s=2))
        await r.wait_state("restart", (OrderState.CONFIRM,), 15)
    # a new process: new connector (empty book), new executor, same storage
    async with rig(db, server) as r:
        await asyncio.wait_for(r.executor.wait_idle(), 60)
        stored = r.assert_agreement()
        assert stored["restart"].state is OrderState.SETTLED
        assert len(server.received(23)) == 1 and len(server.deals_of(DEMO_ACCOUNT)) == 1


async def test_upgrade_refused_with_403_renews_and_connects(server: FakeOlympServer) -> None:
    server.faults.refuse_upgrade_status = 403
    connector = olymp_connector(server)
    try:
        await connector.connect()
        assert connector.session.stats.renewals == 1
        assert server.upgrades[-1][1]["cookie"] == "access_token=access-r1"
    finally:
        await connector.close()
