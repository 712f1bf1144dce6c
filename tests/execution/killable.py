"""A child process for the crash tests: runs one order, or recovers after a SIGKILL.

Usage: ``python killable.py run|recover DB MOCK_STATE MARKERS PAUSE``

* ``run`` places order ``crash-1`` through the executor on a MockConnector whose book is
  kept in ``MOCK_STATE`` (so the broker survives the kill). ``PAUSE`` chooses where the
  process stops to be killed, after writing a marker file into ``MARKERS``:
  ``send-before-accept`` (request on its way, broker has not accepted),
  ``send-after-accept`` (broker accepted, acknowledgement not back yet) or ``confirm``
  (CONFIRM recorded, waiting for the settlement).
* ``recover`` starts a fresh executor on the same database and broker book, lets
  start-up reconciliation run, waits for every resumed order, and prints a JSON report.

Only MoonLight and the standard library are imported, on the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from moonlight.core.connectors.mock import MockConnector
from moonlight.core.events import OrderStateChanged
from moonlight.core.execution.executor import Executor, ExecutorConfig
from moonlight.core.execution.journal import OrderIntent, OrderJournal
from moonlight.core.orders import Direction
from moonlight.core.runtime.clock import WallClock
from moonlight.core.storage import migrate
from moonlight.core.storage.engine import create_storage_engine

ACCOUNT = "acc-1"
CLIENT_REQ_ID = "crash-1"
HANG_S = 120.0  # longer than any test waits: the process is killed while it hangs
CONFIG = ExecutorConfig(
    ack_grace_s=1.0,
    lookup_interval_s=0.2,
    first_poll_delay_s=0.3,
    poll_interval_s=0.3,
    settle_grace_s=10.0,
)


def _marker(markers: Path, name: str) -> None:
    path = markers / name
    path.write_text("x", encoding="utf-8")


async def main(mode: str, db: Path, state: Path, markers: Path, pause: str) -> dict[str, Any]:
    clock = WallClock()
    mock = MockConnector(seed=11, clock=clock, history_s=120.0, state_path=state)
    engine = create_storage_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)

    def notify(hook_name: str, **kwargs: Any) -> int:
        event = kwargs["event"]
        confirmed = isinstance(event, OrderStateChanged) and event.to_state == "CONFIRM"
        if confirmed and pause == "confirm":
            _marker(markers, "paused")
        return 0

    executor = Executor(
        connector=mock,
        journal=OrderJournal(engine),
        clock=clock,
        config=CONFIG,
        notify=notify,
        seed=1,
    )
    await mock.connect()
    report = await executor.start([ACCOUNT])
    if mode == "recover":
        await executor.wait_idle()
        await executor.stop()
        await mock.close()
        return {
            "failed": report.failed,
            "settled": report.settled,
            "resumed": report.resumed,
            "adopted": report.adopted,
            "drift": report.drift,
        }

    def on_event(name: str, client_req_id: str) -> None:
        if pause == "send-before-accept" and name == "place_called":
            mock.faults.latency_s = HANG_S  # the request hangs before the broker sees it
            _marker(markers, "paused")
        if pause == "send-after-accept" and name == "accepted":
            _marker(markers, "paused")  # accepted and saved; the ack will hang

    mock.on_event = on_event
    if pause == "send-after-accept":
        mock.faults.ack_latency_s = HANG_S
    duration_s = 5  # the shortest contract the mock offers
    outcome = await executor.execute(
        OrderIntent(
            client_req_id=CLIENT_REQ_ID,
            account_id=ACCOUNT,
            instrument="EURUSD",
            timeframe="5s",
            direction=Direction.UP,
            stake=10.0,
            duration_s=duration_s,
            payout_pct=82.0,
        )
    )
    return {"state": outcome.state.value}


if __name__ == "__main__":
    mode_, db_, state_, markers_, pause_ = sys.argv[1:6]
    result = asyncio.run(main(mode_, Path(db_), Path(state_), Path(markers_), pause_))
    print(json.dumps(result))
