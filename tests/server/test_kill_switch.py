"""The kill-switch pulled through the API: no new order after one bar, across a restart.

The real engine trades paper on a fast-forward simulated clock (8 workers, bars of 15 s
and 1 min). Engagement time is the engine clock's (stored with the engagement), so
"within one bar" is checked exactly: no order may be created later than one bar of the
shortest timeframe after it. Re-arming through the API at the end proves the engine
would otherwise have traded (the test can fail).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.control import EngineControl
from moonlight.core.runtime.engine import Engine
from moonlight.core.storage import models
from moonlight.server.app import create_app
from tests.server.support import START, api_client, load, token_of, write_config

BAR_S = 15  # the shortest timeframe of the paper config


def orders_created_after(engine: Engine, moment: datetime) -> int:
    with engine.sessions() as session:
        statement = (
            select(func.count()).select_from(models.Order).where(models.Order.created_at > moment)
        )
        return int(session.scalar(statement) or 0)


async def test_kill_switch_stops_new_orders_within_one_bar_and_survives_restart(
    tmp_path: Path, host
) -> None:
    # the loss guards could halt trading on their own and hide what the switch does
    config = load(
        write_config(tmp_path, drop_guards=("consecutive_losses", "daily_loss_cap")), host
    )
    clock = FastForwardClock(START)

    first = Engine.create(config, host, clock=clock, snapshots=False)
    await first.start()
    app = create_app(EngineControl(first))
    token = token_of(config)
    await clock.sleep_until(START + 300)
    assert orders_created_after(first, datetime.fromtimestamp(START, UTC)) > 0
    async with api_client(app, token) as client:
        response = await client.post(
            "/api/v1/kill-switch/engage", json={"operator": "ann", "reason": "test drill"}
        )
        assert response.status_code == 200
    engagement = first.risk.kill_switch.engagement(None)
    assert engagement is not None
    engaged_at = engagement.at
    await clock.sleep_until(clock.now() + 600)
    assert orders_created_after(first, engaged_at + timedelta(seconds=BAR_S)) == 0
    assert first.risk.reject_counts  # decisions kept coming and were refused
    await first.stop("restart")

    second = Engine.create(config, host, clock=clock, snapshots=False)
    await second.start()
    app = create_app(EngineControl(second))
    restarted_at = datetime.fromtimestamp(clock.now(), UTC)
    async with api_client(app, token) as client:
        status = (await client.get("/api/v1/status")).json()
        assert status["kill_switch"]["global_engagement"]["by"] == "ann"
        assert status["kill_switch"]["global_engagement"]["reason"] == "test drill"
        assert status["accounts"][0]["trading_state"] == "HALTED"
        await clock.sleep_until(clock.now() + 600)
        assert orders_created_after(second, restarted_at) == 0

        rearm = await client.post("/api/v1/kill-switch/re-arm", json={"operator": "bob"})
        assert rearm.json()["changed"] is True
        re_armed_at = datetime.fromtimestamp(clock.now(), UTC)
        await clock.sleep_until(clock.now() + 300)
        assert orders_created_after(second, re_armed_at) > 0
    await second.stop("test finished")
