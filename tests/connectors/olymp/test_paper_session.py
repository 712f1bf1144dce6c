"""A paper-style session end to end: connect, bootstrap, candles, a decision, the order
through the real executor, its settlement — and storage, the connector and the fake
broker's book agree at the end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moonlight.connectors.olymp import SessionState
from moonlight.core.execution.journal import OrderIntent
from moonlight.core.orders import Direction, OrderState
from moonlight.indicators import ema
from tests.connectors.olymp.fake_server import DEMO_ACCOUNT, FakeOlympServer
from tests.connectors.olymp.rig import rig
from tests.connectors.olymp.support import eventually


async def test_session_from_candles_to_settlement(tmp_path: Path, server: FakeOlympServer) -> None:
    async with rig(tmp_path / "db.sqlite", server) as r:
        olymp = r.connector
        assert olymp.state is SessionState.READY and olymp.trade_streams_ok

        candles = await olymp.candles("EURUSD", 60, count=60)
        closes = np.array([c.close for c in candles])
        fast, slow = ema(closes, timeperiod=9)[-1], ema(closes, timeperiod=21)[-1]
        direction = Direction.UP if fast >= slow else Direction.DOWN
        payout = {i.symbol: i for i in await olymp.instruments()}["EURUSD"].payout_pct
        before = (await olymp.balance("acc-1")).amount

        report = await r.executor.execute(
            OrderIntent(
                client_req_id="paper-session-1",
                account_id="acc-1",
                instrument="EURUSD",
                timeframe="1m",
                direction=direction,
                stake=25.0,
                duration_s=2,
                payout_pct=payout,
                min_payout_pct=payout,
                decided_ts=candles[-1].end_ts - server.skew_s,
                indicators={"ema_9": float(fast), "ema_21": float(slow)},
            )
        )
        assert report.state is OrderState.SETTLED
        (deal,) = server.deals_of(DEMO_ACCOUNT)
        assert deal.dir == direction.value and deal.amount == 25.0 and deal.duration == 2
        stored = r.assert_agreement()
        assert stored["paper-session-1"].broker_order_id == str(deal.id)
        expected = server.accounts[DEMO_ACCOUNT].amount
        assert expected == pytest.approx(before + (report.pnl or 0.0))
        await eventually(lambda: olymp.accounts.balances[DEMO_ACCOUNT].amount == expected)
        assert (await olymp.balance("acc-1")).amount == pytest.approx(expected)
