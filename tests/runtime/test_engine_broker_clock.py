"""The engine keeps deciding on every bar while a broker's clock misbehaves, and says so.

Issue 13: the engine re-read each broker's time offset every 60 s and applied it as a
jump; against a broker whose clock ran differently every later bar "arrived 3,541 s
late" and the engine stopped deciding. Here one account's broker answers ``server_time``
with a clock that jumps 3,541 s ahead (and another's with one running 1 % fast) while
its bars stay on true time; the engine must decide on every bar of every worker, never
on a stale one, and raise the clock alarms.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from moonlight.core.connectors.mock import MockConnector
from moonlight.core.connectors.plugin import MockConnectorConfig
from moonlight.core.plugins import ComponentSpec, PluginHost, build_plugin_host, hookimpl
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.runtime.server_time import CLOCK_JUMP, CLOCK_RATE
from moonlight.core.storage import models
from tests.chaos.support import START, seed_calibration
from tests.runtime.support import make_config

JUMP_AT = START + 10 * 60


class GlitchyClockBroker(MockConnector):
    """Bars, contracts and settlements on true time; ``server_time`` on a bad clock."""

    def __init__(self, *, glitch: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.glitch = glitch

    async def server_time(self) -> float:
        true = await super().server_time()
        if self.glitch == "jump":
            return true + (3541.0 if true >= JUMP_AT else 0.0)
        if self.glitch == "fast":
            return true + 0.01 * (true - START)
        return true


class GlitchPlugin:
    @hookimpl
    def moonlight_register_connectors(self) -> Sequence[ComponentSpec]:
        return [
            ComponentSpec(name, self.factory(name), name, config_model=MockConnectorConfig)
            for name in ("jump", "fast", "true")
        ]

    @staticmethod
    def factory(glitch: str) -> Any:
        def make(config: MockConnectorConfig, *, clock: Any = None, **_: Any) -> MockConnector:
            return GlitchyClockBroker(glitch=glitch, seed=config.seed, clock=clock, payout_pct=85.0)

        return make


@pytest.fixture
def host() -> PluginHost:
    return build_plugin_host(extra_plugins=[("glitch", GlitchPlugin())])


async def test_every_bar_is_decided_while_broker_clocks_jump_and_run_fast(
    tmp_path: Path, host: PluginHost
) -> None:
    accounts = []
    for seed, name in enumerate(("jump", "fast", "true"), start=1):
        accounts.append(
            {
                "id": name,
                "connector": name,
                "mode": "demo",
                "products": ["EURUSD"],
                "timeframes": ["1m"],
                "connector_options": {"seed": seed},
            }
        )
    config = make_config(tmp_path, accounts)
    engine = Engine.create(config, host, clock=FastForwardClock(START), snapshots=False)
    seed_calibration(engine.sessions)
    await engine.start()
    try:
        minutes = 40
        await engine.clock.sleep_until(START + minutes * 60 + 5)
        for name in ("jump", "fast", "true"):
            worker = engine.supervisor.workers[f"{name}/EURUSD/1m"]
            assert worker.stale_bars == 0, name
            assert worker.decisions == minutes, name  # every bar, none late or missing
        with engine.sessions() as session:
            alarms = set(session.execute(select(models.Alarm.code, models.Alarm.scope)).all())
        assert (CLOCK_JUMP, "acc:jump") in alarms
        assert (CLOCK_RATE, "acc:fast") in alarms
        assert not {code for code, scope in alarms if scope == "acc:true"}
    finally:
        await engine.stop("test finished")
