"""Reconnect storm: the server drops every new connection 50 times in a row.

Time is compressed about 6× against "50 drops in a minute" (each connection lives 50 ms;
the reconnect backoff is capped at 0.25 s instead of seconds). The connector must back
off (measured: reconnect gaps grow to the cap, attempts per second stay bounded, each
connection costs a bounded number of frames), never open a second deal for an order,
and say where it is (state changes, counters).
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest

from moonlight.connectors.olymp import SessionState
from moonlight.core.orders import OrderState
from tests.connectors.olymp.fake_server import FakeOlympServer
from tests.connectors.olymp.rig import rig
from tests.connectors.olymp.support import eventually
from tests.execution.support import intent

DROPS = 50
BASE_S, CAP_S, JITTER = 0.02, 0.25, 0.5


@pytest.mark.slow
async def test_reconnect_storm_backs_off_and_never_duplicates(
    tmp_path: Path, server: FakeOlympServer
) -> None:
    options: dict[str, Any] = {
        "reconnect_base_s": BASE_S,
        "reconnect_cap_s": CAP_S,
        "reconnect_jitter": JITTER,
        "stable_after_s": 2.0,
    }
    async with rig(tmp_path / "db.sqlite", server, **options) as r:
        states: list[SessionState] = []
        r.connector.session.state_listeners.append(states.append)
        before = len(server.upgrades)
        sent_before = r.connector.session.stats.frames_sent
        server.faults.storm_drops = DROPS
        server.faults.storm_after_s = 0.05
        await server.drop_all()
        orders = []
        for i in range(5):  # decisions keep coming during the storm
            orders.append(
                r.executor.submit(
                    intent(f"storm-{i}", account_id="acc-1", instrument="EURUSD", duration_s=1)
                )
            )
            await asyncio.sleep(0.6)
        await eventually(lambda: len(server.upgrades) - before > DROPS, 40)
        await eventually(lambda: r.connector.state is SessionState.READY, 5)
        reports = await asyncio.wait_for(asyncio.gather(*orders), 60)

        upgrades = [t for t, _ in server.upgrades[before:]]
        assert len(upgrades) >= DROPS + 1
        gaps = [b - a for a, b in itertools.pairwise(upgrades)]
        floor_s = CAP_S * (1 - JITTER)
        # once the backoff has reached its cap, no reconnect comes sooner than the floor
        capped = gaps[6:]
        assert min(capped) >= floor_s, f"reconnected after {min(capped):.3f} s"
        window_s = upgrades[-1] - upgrades[0]
        rate = (len(upgrades) - 1) / window_s
        assert rate <= 1 / floor_s, f"{rate:.1f} connection attempts/s"
        delays = list(r.connector.session.stats.backoff_delays_s)[-DROPS:]
        for attempt, delay in enumerate(delays[:6]):
            assert delay >= min(CAP_S, BASE_S * 2**attempt) * (1 - JITTER) - 1e-9
        frames = r.connector.session.stats.frames_sent - sent_before
        assert frames / len(upgrades) <= 20, "a connection costs an unbounded number of frames"

        # no duplicate deal, nothing lost, storage and the broker agree
        assert all(rep.state in (OrderState.SETTLED, OrderState.FAILED) for rep in reports)
        r.assert_agreement()
        assert len(server.deals) == sum(rep.state is OrderState.SETTLED for rep in reports)

        status = r.connector.status()
        assert status["state"] == "ready"
        assert status["disconnects"] >= DROPS and status["connects"] >= DROPS + 1
        assert states.count(SessionState.BACKOFF) >= DROPS
        print(
            f"\nstorm: {len(upgrades)} connections in {window_s:.1f} s ({rate:.2f}/s),"
            f" min capped gap {min(capped):.3f} s, {frames / len(upgrades):.1f} frames per"
            f" connection, {len(server.received(23))} deal requests for {len(reports)}"
            f" orders, settled {sum(rep.state is OrderState.SETTLED for rep in reports)}"
        )
