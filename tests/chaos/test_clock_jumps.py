"""Clock jumps: the wall clock steps forward and back while orders are in flight.

Two worlds (see :mod:`tests.chaos.clocks`):

* **shared** — the engine and its brokers read the same stepped clock (a simulated
  clock that jumps, or a host whose broker is on the same machine);
* **local** — only MoonLight's clock steps; the brokers stay on true time (an NTP step
  or a resumed VM on the trading host: the engine is suddenly ahead of, or behind,
  the broker).

After every jump: no duplicate per client_req_id, every order terminal, storage and
the brokers agree, no worker crashed, and no decision was made on a bar that had not
just closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from moonlight.core.connectors.mock import MockConnector
from moonlight.core.connectors.plugin import MockConnectorConfig, make_mock
from moonlight.core.plugins import ComponentSpec, PluginHost, build_plugin_host, hookimpl
from tests.chaos.clocks import SteppedClock
from tests.chaos.support import (
    START,
    decision_ts,
    drain,
    mocks,
    record_figures,
    start_engine,
    verdict,
    write_config,
)

TRUE_TIME = "mock-true-time"


def make_true_time_mock(
    config: MockConnectorConfig, *, clock: Any = None, **_: Any
) -> MockConnector:
    """A mock broker on the true timeline, whatever the engine's clock says."""
    return make_mock(config, clock=clock.base if isinstance(clock, SteppedClock) else clock)


class TrueTimePlugin:
    @hookimpl
    def moonlight_register_connectors(self) -> Sequence[ComponentSpec]:
        return [
            ComponentSpec(
                TRUE_TIME,
                make_true_time_mock,
                "mock broker on true time",
                config_model=MockConnectorConfig,
            )
        ]


@pytest.fixture(scope="module")
def true_time_host() -> PluginHost:
    return build_plugin_host(extra_plugins=[("chaos-true-time", TrueTimePlugin())])


def bar_age_at_broker(engine: Any) -> list[float]:
    """For every contract: how old its bar was (broker time) when the broker accepted it.

    A client_req_id names the bar close it decided on; candles carry the broker's
    timestamps, so ``accepted_ts - close`` is the age of the data the order acted on.
    """
    return [
        c.accepted_ts - decision_ts(c.client_req_id or "")
        for broker in mocks(engine).values()
        for c in broker.all_orders()
    ]


@pytest.mark.parametrize("step_s", [+600.0, -600.0, +45.0, -45.0])
async def test_whole_timeline_steps(tmp_path: Path, host: PluginHost, step_s: float) -> None:
    """Engine and brokers jump together (a simulated clock that jumps)."""
    clock = SteppedClock(START)
    engine = await start_engine(write_config(tmp_path), host, clock)  # type: ignore[arg-type]
    try:
        await clock.sleep_until(START + 5 * 60 + 20)  # 1-minute orders in flight
        before = verdict(engine.sessions, mocks(engine), terminal=False)
        clock.step(step_s)
        # after a step back, bars up to the last traded one come round again
        await clock.base.sleep_until(clock.base.now() + max(0.0, -step_s) + 3 * 60)
        after = verdict(engine.sessions, mocks(engine), terminal=False)
        drain_s = await drain(engine, limit_s=1800.0)
        found = verdict(engine.sessions, mocks(engine))
        record_figures(
            f"clock step {step_s:+g} s (engine and broker)",
            orders=found.orders,
            failed=found.failed,
            duplicates=found.duplicates,
            lost_results=found.lost_results,
            drain_s=drain_s,
        )
        found.assert_clean()
        assert sum(engine.supervisor.failures.values()) == 0
        assert after.orders > before.orders  # trading went on after the step
        # a bar seen before a step back is not traded twice (verdict: no duplicate), and
        # every order acted on a bar that had just closed
        assert max(bar_age_at_broker(engine)) < 6.0
    finally:
        await engine.stop("test finished")


@pytest.mark.parametrize("step_s", [+600.0, -600.0, +45.0, -45.0])
async def test_host_clock_steps_and_is_corrected(
    tmp_path: Path, true_time_host: PluginHost, step_s: float
) -> None:
    """Only MoonLight's clock steps (the brokers stay on true time), then it is corrected."""
    clock = SteppedClock(START)
    engine = await start_engine(
        write_config(tmp_path, connector=TRUE_TIME),
        true_time_host,
        clock,  # type: ignore[arg-type]
    )
    try:
        await clock.sleep_until(START + 5 * 60 + 20)
        clock.step(step_s)
        await clock.base.sleep_until(clock.base.now() + 4 * 60)
        clock.step(-step_s)
        await clock.base.sleep_until(clock.base.now() + abs(step_s) + 3 * 60)
        drain_s = await drain(engine, limit_s=1800.0)
        found = verdict(engine.sessions, mocks(engine))
        record_figures(
            f"host clock step {step_s:+g} s, then corrected (broker on true time)",
            orders=found.orders,
            failed=found.failed,
            duplicates=found.duplicates,
            lost_results=found.lost_results,
            drain_s=drain_s,
        )
        found.assert_clean()
        assert sum(engine.supervisor.failures.values()) == 0
    finally:
        await engine.stop("test finished")


async def test_host_clock_behind_the_broker_never_trades_stale_bars(
    tmp_path: Path, true_time_host: PluginHost
) -> None:
    clock = SteppedClock(START)
    clock.step(-120.0)  # the host is 2 minutes slow from the start
    engine = await start_engine(
        write_config(tmp_path, connector=TRUE_TIME),
        true_time_host,
        clock,  # type: ignore[arg-type]
    )
    try:
        await clock.sleep_until(clock.now() + 10 * 60)
        ages = bar_age_at_broker(engine)
        assert ages, "no order was placed"
        assert max(ages) <= engine.config.runtime.max_decision_delay_s + 1.0, max(ages)
    finally:
        await engine.stop("test finished")
