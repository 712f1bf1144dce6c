"""Issue 13, clocks: the Olymp connector follows a broker clock that jumps or runs fast,
and feeds the engine's clock sync fresh measurements, so the engine alarms.

Before, the connector's offset stayed pinned to its first pings (an intersection of every
ping bracket of the last hour) and ``server_time()`` returned that stale estimate: the
engine never saw the broker's clock move. Here the strict fake's clock is skewed, then
jumps by 3,541 s or starts running at twice our rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from moonlight.connectors.olymp import OlympConnector
from moonlight.core.runtime.clock import BrokerClock, WallClock
from moonlight.core.runtime.server_time import (
    CLOCK_BOUND,
    CLOCK_JUMP,
    CLOCK_RATE,
    ClockSyncPolicy,
    ServerTimeSync,
)
from tests.connectors.olymp.support import eventually
from tests.support.olymp_clock import FakeBrokerClock
from tests.support.olymp_fake import StrictOlympBroker
from tests.support.olymp_rig import strict_connector

#: e:90 ``ts`` is whole seconds: one ping can be off by up to a second plus its round trip.
PING_ERROR_S = 1.5


@pytest.fixture
async def broker() -> AsyncIterator[StrictOlympBroker]:
    async with StrictOlympBroker(seed=7, clock=FakeBrokerClock(skew_s=1234.5)) as fake:
        yield fake


@pytest.fixture
async def olymp(broker: StrictOlympBroker) -> AsyncIterator[OlympConnector]:
    connector = strict_connector(broker, ping_interval_s=2.0)
    await connector.connect()
    try:
        yield connector
    finally:
        await connector.close()


async def test_server_time_is_measured_when_asked(
    olymp: OlympConnector, broker: StrictOlympBroker
) -> None:
    assert abs(await olymp.server_time() - broker.clock.now()) < PING_ERROR_S
    broker.clock.jump(3541.0)
    for _ in range(3):
        assert abs(await olymp.server_time() - broker.clock.now()) < PING_ERROR_S


async def test_the_connector_estimate_follows_a_jump(
    olymp: OlympConnector, broker: StrictOlympBroker
) -> None:
    broker.clock.jump(3541.0)

    def caught_up() -> bool:
        return abs(olymp.session.server_now() - broker.clock.now()) < PING_ERROR_S

    # keepalive pings every 2 s: caught up within a few (the old estimate needed 64)
    await eventually(caught_up, timeout_s=14.0)


async def test_a_fresh_tick_makes_each_sample_a_tight_lower_bound(
    olymp: OlympConnector, broker: StrictOlympBroker
) -> None:
    ticks = olymp.subscribe_ticks("EURUSD")
    await anext(ticks)
    for _ in range(5):
        before = broker.clock.now()
        measured = await olymp.server_time()
        # never ahead of the broker (a lower bound), behind it by latency only
        assert measured <= broker.clock.now() + 1e-3
        assert measured > before - 1.0
    await ticks.aclose()  # type: ignore[attr-defined]


async def synced(
    olymp: OlympConnector, policy: ClockSyncPolicy
) -> tuple[ServerTimeSync, BrokerClock, list[str]]:
    alarms: list[str] = []
    clock = BrokerClock(WallClock())
    sync = ServerTimeSync(
        olymp,
        clock,
        alarm=lambda _level, code, _message: alarms.append(code),
        label="olymp-demo",
        policy=policy,
    )
    await sync.start()
    return sync, clock, alarms


async def test_a_jump_raises_an_alarm_and_the_engine_clock_holds(
    olymp: OlympConnector, broker: StrictOlympBroker
) -> None:
    policy = ClockSyncPolicy(interval_s=0.05, window=9, startup_samples=5, rate_min_span_s=0.3)
    sync, clock, alarms = await synced(olymp, policy)
    anchor = sync.anchor_s
    assert anchor is not None and abs(anchor - 1234.5) < PING_ERROR_S
    broker.clock.jump(3541.0)
    runner = asyncio.create_task(sync.run())
    try:
        await eventually(lambda: CLOCK_JUMP in alarms, timeout_s=20.0)
    finally:
        runner.cancel()
    assert abs(clock.offset_s - anchor) <= policy.max_correction_s  # held, not stepped


async def test_a_clock_running_fast_raises_an_alarm_and_stays_bounded(
    olymp: OlympConnector, broker: StrictOlympBroker
) -> None:
    ticks = olymp.subscribe_ticks("EURUSD")  # fresh ticks: precise samples
    await anext(ticks)
    policy = ClockSyncPolicy(
        interval_s=0.1, window=15, startup_samples=5, rate_min_span_s=1.0, max_correction_s=3.0
    )
    sync, clock, alarms = await synced(olymp, policy)
    anchor = sync.anchor_s
    assert anchor is not None
    broker.clock.set_rate(2.0)
    started = time.time()
    runner = asyncio.create_task(sync.run())
    try:
        await eventually(lambda: bool({CLOCK_RATE, CLOCK_JUMP} & set(alarms)), timeout_s=20.0)
        await asyncio.sleep(1.0)
    finally:
        runner.cancel()
        await ticks.aclose()  # type: ignore[attr-defined]
    # the broker ran ahead by the whole elapsed time; the engine's clock did not follow it
    assert broker.clock.now() - (time.time() + anchor) > time.time() - started - 0.5
    assert abs(clock.offset_s - anchor) <= policy.max_correction_s + 0.01
    assert set(alarms) <= {CLOCK_RATE, CLOCK_JUMP, CLOCK_BOUND}
