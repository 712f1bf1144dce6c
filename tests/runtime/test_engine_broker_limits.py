"""End to end: no stake outside the broker's limits ever reaches the broker.

Issue 13: stakes under the broker's minimum were sent and cancelled by the broker. The
engine's sizing now reads each instrument's limits as its connector reports them: a
stake above the maximum is clamped down to it, one below the minimum is refused before
anything is sent and counted in ``guard_reject_total{reason="stake_below_broker_min"}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moonlight.core.plugins import build_plugin_host
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from tests.chaos.support import START, mocks, seed_calibration
from tests.runtime.support import make_config


async def test_stakes_are_clamped_to_the_broker_maximum_or_refused_below_its_minimum(
    tmp_path: Path,
) -> None:
    def account(account_id: str, seed: int, stake_min: float, stake_max: float) -> dict[str, Any]:
        return {
            "id": account_id,
            "connector": "mock",
            "mode": "demo",
            "products": ["EURUSD", "GBPUSD"],
            "timeframes": ["1m"],
            "max_stake": 50.0,
            "connector_options": {"seed": seed, "stake_min": stake_min, "stake_max": stake_max},
        }

    config = make_config(
        tmp_path,
        [account("capped", 1, 1.0, 8.0), account("too-small", 2, 30.0, 500.0)],
        stake_amount=20.0,
    )
    engine = Engine.create(
        config, build_plugin_host(), clock=FastForwardClock(START), snapshots=False
    )
    seed_calibration(engine.sessions)
    await engine.start()
    try:
        await engine.clock.sleep_until(START + 15 * 60 + 5)
        brokers = mocks(engine)
        stakes = {c.stake for c in brokers["capped"].all_orders()}
        assert stakes == {8.0}  # 20 asked, the broker's maximum 8 sent
        assert brokers["too-small"].all_orders() == []
        assert brokers["too-small"].calls.get("place_order", 0) == 0
        refused = engine.metrics.value("guard_reject_total", {"reason": "stake_below_broker_min"})
        assert refused is not None and refused >= 10
    finally:
        await engine.stop("test finished")
