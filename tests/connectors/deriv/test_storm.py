"""Reconnect storm: the server drops the connection 50 times (accelerated: within about
twenty seconds of real time) while the executor keeps trading. The connector backs off
(its connection and request rates stay bounded), never opens a duplicate contract,
loses no result, and reports its state throughout."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from moonlight.connectors.deriv.link import LinkState
from moonlight.core.execution.executor import Executor, OrderReport
from moonlight.core.execution.journal import OrderJournal
from moonlight.core.orders import Direction, OrderState
from moonlight.core.runtime.clock import ScaledClock
from tests.connectors.deriv.conftest import MakeConnector, eventually
from tests.connectors.deriv.fake_server import CLASS_OF, FakeDerivServer
from tests.connectors.deriv.test_executor import ACCOUNT, Desk, executor_config
from tests.execution.support import Recorder, intent, migrated_sqlite

DROPS = 50
BASE_S = 0.05
CAP_S = 0.3


def _max_in_window(times: list[float], window_s: float) -> int:
    best, start = 0, 0
    for end, stamp in enumerate(times):
        while stamp - times[start] > window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.slow
async def test_a_reconnect_storm_is_backed_off_without_duplicates(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock, tmp_path: Path
) -> None:
    connector = make_connector(
        reconnect_base_s=BASE_S, reconnect_cap_s=CAP_S, reconnect_jitter=0.5, stable_after_s=5.0
    )
    states: list[LinkState] = []
    connector.link.observers.append(lambda state, _detail: states.append(state))
    await connector.connect()
    engine = migrated_sqlite(tmp_path / "storm.db")
    journal = OrderJournal(engine)
    executor = Executor(
        connector=connector,
        journal=journal,
        clock=clock,
        config=executor_config(send_deadline_s=300.0, max_send_attempts=60, ack_grace_s=30.0),
        notify=Recorder(),
        seed=9,
    )
    await executor.start([ACCOUNT])
    desk = Desk(connector, executor, engine, journal, server, Recorder())
    loop = asyncio.get_running_loop()
    started = loop.time()
    server.faults.storm_drop_after_s = 0.2
    server.faults.storm_remaining = DROPS
    server.faults.buy_drops.extend(["after", "before", "after", "after"])  # mid-deal drops too
    await server.drop_all()  # the first drop; each new connection is dropped again
    tasks: list[asyncio.Task[OrderReport]] = []
    try:
        n = 0
        while server.faults.storm_remaining > 0 and loop.time() - started < 60.0:
            # the strategy keeps deciding while the storm rages
            decision = intent(
                f"storm-{n}",
                account_id=ACCOUNT,
                instrument="R_100",
                direction=Direction.UP if n % 2 else Direction.DOWN,
                duration_s=15,
            )
            tasks.append(loop.create_task(executor.execute(decision)))
            n += 1
            await asyncio.sleep(0.5)
        assert server.faults.storm_remaining == 0, "the storm did not finish within a minute"
        storm_s = loop.time() - started
        await eventually(lambda: connector.state is LinkState.READY, timeout_s=10.0)
        reports = await asyncio.wait_for(asyncio.gather(*tasks), timeout=60.0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await executor.stop()

    # every drop was seen and reported (a drop while restoring counts as a failed
    # attempt, one after "ready" as a drop); the link backed off after each of them
    report = connector.report()
    assert server.drops_done == DROPS + 1
    assert report["drops"] + report["failed_attempts"] >= DROPS + 1
    assert report["state"] == "ready"
    assert states.count(LinkState.BACKOFF) >= DROPS + 1
    assert states.count(LinkState.READY) >= 2

    # bounded connection rate: backoff grows to the cap while connections keep dying
    handshakes = sorted(server.handshakes)
    assert len(handshakes) <= report["connect_attempts"] + 1
    per_s = _max_in_window(handshakes, 1.0)
    assert per_s <= 1.0 / (CAP_S * 0.5) + 3, f"{per_s} handshakes in one second"
    storm_handshakes = [t for t in handshakes if t >= started]
    gaps = [b - a for a, b in itertools.pairwise(storm_handshakes[5:])]
    assert min(gaps) >= CAP_S * 0.5 * 0.9, "a reconnect came sooner than the capped backoff"

    # bounded request rate on the wire: within Deriv's per-minute budget of every call
    # class, re-authorisation paced like the handshakes, a few calls per connection
    limits = connector.config.rate_limits
    budget = {
        "trading": limits.trading_per_min,
        "balance": limits.balance_per_min,
        "reports": limits.reports_per_min,
        "general": limits.general_per_min,
    }
    for klass, per_min in budget.items():
        times = sorted(t for _, call, t in server.calls if CLASS_OF.get(call, "general") == klass)
        assert _max_in_window(times, 60.0) <= per_min, klass
    authorize_times = sorted(t for _, call, t in server.calls if call == "authorize")
    assert _max_in_window(authorize_times, 1.0) <= per_s
    reconnect_calls = sum(1 for _, call, _ in server.calls if call in ("authorize", "time"))
    assert reconnect_calls <= 2 * len(handshakes)
    assert server.calls_of("portfolio") <= 1 + 2 * len(server.contracts)

    # no duplicate contract, no lost result: storage and book agree for every order
    assert all(r.state in (OrderState.SETTLED, OrderState.FAILED) for r in reports)
    desk.assert_agreement()
    settled = sum(r.state is OrderState.SETTLED for r in reports)
    assert settled == len(server.contracts) and settled >= 1
    assert not server.faults.buy_drops  # the mid-deal drops all happened
    print(
        f"storm: {server.drops_done} drops in {storm_s:.1f} s ({report['drops']} after ready),"
        f" {len(handshakes)} handshakes"
        f" (max {per_s}/s), {len(server.calls)} calls, {settled}/{len(reports)} settled"
    )
    journal.close()
    engine.dispose()
