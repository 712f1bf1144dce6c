"""Network faults against the whole engine: three accounts trading on their own mock
brokers while the fault driver injects 429 storms, 5xx bursts, dropped connections,
2-second latency, lost/duplicated/reordered settlement pushes and a random mix of all
of them (timeouts before and after the broker accepted included).

Each scenario trades normally first, then under the fault, then normally again, and
ends with :func:`~tests.chaos.support.drain`: after it, the books must agree exactly
(no duplicate per client_req_id, no lost result, every order terminal, balances equal)
and trading must have resumed after the fault.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from moonlight.core.plugins import PluginHost
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from tests.chaos.driver import FaultDriver
from tests.chaos.support import (
    START,
    PhaseRecorder,
    drain,
    mocks,
    record_figures,
    start_engine,
    verdict,
    write_config,
)

WARM_S = 5 * 60  # normal trading before the fault
FAULT_S = 3 * 60
AFTER_S = 4 * 60  # normal trading after it


@pytest.fixture
async def engine(tmp_path: Path, host: PluginHost) -> AsyncIterator[Engine]:
    clock = FastForwardClock(START)
    running = await start_engine(write_config(tmp_path), host, clock)
    try:
        yield running
    finally:
        await running.stop("test finished")


def accepted_after(engine: Engine, since: float) -> list[float]:
    """Acceptance times of every broker contract opened at or after ``since``."""
    return sorted(
        c.accepted_ts
        for broker in mocks(engine).values()
        for c in broker.all_orders()
        if c.accepted_ts >= since
    )


async def run_scenario(engine: Engine, name: str, inject, *, fault_s: float = FAULT_S):  # type: ignore[no-untyped-def]
    """Trade, inject, trade again, drain; returns (driver, verdict, figures)."""
    clock = engine.clock
    driver = FaultDriver(mocks(engine))
    await clock.sleep_until(START + WARM_S)
    before = verdict(engine.sessions, mocks(engine), terminal=False)
    fault_at = clock.now()
    inject(driver)
    await clock.sleep_until(fault_at + fault_s)
    calm_at = clock.now()
    driver.calm()
    await clock.sleep_until(calm_at + AFTER_S)
    drain_s = await drain(engine)
    found = verdict(engine.sessions, mocks(engine))
    resumed = accepted_after(engine, calm_at)
    figures = {
        "orders": found.orders,
        "orders_before_fault": before.orders,
        "broker_contracts": found.broker_contracts,
        "faults_injected": driver.total,
        "fault_kinds": dict(driver.delivered),
        "duplicates": found.duplicates,
        "lost_results": found.lost_results,
        "failed_orders": found.failed,
        "first_order_after_fault_s": round(resumed[0] - calm_at, 1) if resumed else None,
        "drain_s": drain_s,
        "worker_failures": sum(engine.supervisor.failures.values()),
    }
    record_figures(name, **figures)
    return driver, found, figures


def assert_survived(found, figures) -> None:  # type: ignore[no-untyped-def]
    found.assert_clean()
    assert figures["faults_injected"] > 0, figures
    assert figures["orders"] > figures["orders_before_fault"], figures
    # trading resumed within two 15-second bars of the fault ending
    assert figures["first_order_after_fault_s"] is not None, figures
    assert figures["first_order_after_fault_s"] <= 35.0, figures
    assert figures["worker_failures"] == 0, figures


async def test_429_storm_with_retry_after(engine: Engine) -> None:
    recorder = PhaseRecorder(engine)
    recorder.start()
    _, found, figures = await run_scenario(
        engine, "429 storm", lambda d: d.random_faults(rate_limit=1.0, retry_after_s=3.0)
    )
    await recorder.stop()
    assert_survived(found, figures)
    assert figures["fault_kinds"]["rate_limit"] >= 3 * 10, figures
    for account in engine.accounts:
        phases = recorder.phases(account)
        assert phases[0] == "CLOSED" and phases[-1] == "CLOSED", phases
        assert "OPEN" in phases, phases


async def test_5xx_burst(engine: Engine) -> None:
    _, found, figures = await run_scenario(
        engine, "5xx burst", lambda d: d.random_faults(server_error=1.0), fault_s=90
    )
    assert_survived(found, figures)
    assert figures["fault_kinds"]["server_error"] >= 30, figures


async def test_connection_drops_every_half_minute(engine: Engine) -> None:
    clock = engine.clock
    dropping: list[asyncio.Task[None]] = []

    def inject(driver: FaultDriver) -> None:
        async def keep_dropping() -> None:
            for _ in range(6):  # 6 drops, 30 s apart, each down for 10 s
                driver.drop_connections(reconnect_after_s=10.0)
                await clock.sleep_until(clock.now() + 30.0)

        dropping.append(asyncio.get_running_loop().create_task(keep_dropping()))

    _, found, figures = await run_scenario(engine, "connection drops", inject)
    assert dropping[0].done()
    assert_survived(found, figures)
    assert figures["fault_kinds"]["disconnect"] == 6 * 3, figures


async def test_two_second_latency(engine: Engine) -> None:
    _, found, figures = await run_scenario(engine, "2 s latency", lambda d: d.latency(2.0))
    assert_survived(found, figures)
    assert figures["fault_kinds"]["latency"] > 100, figures


async def test_settlement_pushes_lost_duplicated_and_reordered(engine: Engine) -> None:
    def inject(driver: FaultDriver) -> None:
        driver.push_anomalies(duplicate=True, reorder=True, drop=False)

    _, found, figures = await run_scenario(engine, "duplicate + reordered pushes", inject)
    assert_survived(found, figures)


async def test_every_settlement_push_lost(engine: Engine) -> None:
    def inject(driver: FaultDriver) -> None:
        driver.push_anomalies(duplicate=False, reorder=False, drop=True)

    _, found, figures = await run_scenario(engine, "settlement pushes lost", inject)
    assert_survived(found, figures)


async def test_random_mix_with_ambiguous_timeouts(engine: Engine) -> None:
    def inject(driver: FaultDriver) -> None:
        driver.random_faults(
            retry_after_s=2.0,
            rate_limit=0.04,
            server_error=0.04,
            disconnect=0.02,
            timeout_before_accept=0.05,
            timeout_after_accept=0.08,
        )
        driver.push_anomalies(duplicate=True, reorder=True, drop=False)

    _, found, figures = await run_scenario(engine, "random mix", inject, fault_s=10 * 60)
    assert_survived(found, figures)
    kinds = figures["fault_kinds"]
    assert kinds.get("timeout_after_accept", 0) > 0 and kinds.get("timeout_before_accept", 0) > 0
