"""Child process of the real disk-full test: the database lives on a tiny tmpfs.

Usage: ``python diskfull_child.py DIR`` where DIR is a small, otherwise empty filesystem
(the parent mounts it in a private mount namespace). The child opens an executor on a
SQLite database in DIR and a mock broker, lets the broker accept one order, fills the
filesystem to the last byte, lets the order expire (its result cannot be written),
tries to open another order, frees the space and lets the first order finish. It prints
one JSON object with what it observed; the parent asserts on it.
"""

from __future__ import annotations

import asyncio
import errno
import json
import sys
from pathlib import Path
from typing import Any

from moonlight.core.connectors.mock import MockConnector
from moonlight.core.execution.executor import Executor, ExecutorConfig, TradingHalted
from moonlight.core.execution.journal import OrderIntent, OrderJournal
from moonlight.core.orders import Direction
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.storage import migrate
from moonlight.core.storage.engine import create_storage_engine

T0 = 1_700_000_000.0


def _intent(cid: str) -> OrderIntent:
    return OrderIntent(
        client_req_id=cid,
        account_id="acc",
        instrument="EURUSD",
        timeframe="1m",
        direction=Direction.UP,
        stake=10.0,
        duration_s=60,
        payout_pct=82.0,
    )


def _fill(directory: Path) -> int:
    """Write a filler file until the filesystem refuses another byte; returns its size."""
    written = 0
    with open(directory / "filler", "wb", buffering=0) as filler:
        for chunk in (65536, 4096, 512, 1):
            block = b"\0" * chunk
            while True:
                try:
                    filler.write(block)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
                written += chunk
    return written


async def main(directory: Path) -> dict[str, Any]:
    clock = FastForwardClock(T0)
    mock = MockConnector(seed=4, clock=clock, history_s=60.0)
    await mock.connect()
    engine = create_storage_engine(f"sqlite:///{directory / 'moonlight.db'}")
    migrate.upgrade(engine)
    alarms: list[str] = []

    def notify(hook_name: str, **kwargs: Any) -> int:
        if hook_name == "moonlight_on_alarm":
            alarms.append(kwargs["event"].code)
        return 0

    journal = OrderJournal(engine)
    executor = Executor(
        connector=mock,
        journal=journal,
        clock=clock,
        config=ExecutorConfig(storage_retry_cap_s=1.0),
        notify=notify,
    )
    await executor.start(["acc"])
    observed: dict[str, Any] = {}
    first = executor.submit(_intent("accepted"))
    while mock.placements("accepted") == 0:
        await clock.sleep_until(clock.now() + 0.1)
    observed["filler_bytes"] = _fill(directory)
    await clock.sleep_until(T0 + 75)  # expired and settled at the broker; write must fail
    observed["halted_reason"] = executor.halted_reason
    observed["first_done_while_full"] = first.done()
    try:
        await executor.execute(_intent("refused"))
        observed["refused"] = "executed"
    except TradingHalted as error:
        observed["refused"] = f"halted: {error}"
    observed["refused_placements"] = mock.placements("refused")
    observed["alarms_while_full"] = list(alarms)
    (directory / "filler").unlink()
    report = await first
    observed["first_state"] = report.state.value
    observed["first_outcome"] = None if report.outcome is None else report.outcome.value
    broker = mock.all_orders()[0].settlement
    observed["broker_outcome"] = None if broker is None else broker.outcome.value
    stored = journal.get("accepted")
    observed["stored_state"] = None if stored is None else stored.state.value
    observed["stored_refused"] = journal.get("refused") is not None
    observed["alarms"] = alarms
    await executor.stop()
    await mock.close()
    journal.close()
    engine.dispose()
    return observed


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1])))))
