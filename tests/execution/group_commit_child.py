"""A child process for the group-commit crash test: trade, then die before the commit.

Usage: ``python group_commit_child.py run|recover DB MARKERS``

* ``run`` opens ``ORDERS`` orders on a paper broker whose book lives in ``DB`` (the
  broker's own tables, as in paper trading), all expiring together. When the paper
  broker has settled them (committed in its book) and the executor has staged their
  results into the instant's group commit, the flush writes a marker file and hangs
  instead of committing -- the test SIGKILLs the process there.
* ``recover`` starts a fresh executor and paper broker on the same database, lets
  start-up reconciliation run, waits for every resumed order, and prints a JSON report.

Only MoonLight and the standard library are imported, on the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from moonlight.core.connectors.mock import MockConnector
from moonlight.core.connectors.paper import PaperBroker
from moonlight.core.connectors.paper_book import SqlPaperBook
from moonlight.core.execution.executor import Executor, ExecutorConfig
from moonlight.core.execution.journal import OrderIntent, OrderJournal
from moonlight.core.orders import Direction
from moonlight.core.runtime.clock import WallClock
from moonlight.core.storage import migrate
from moonlight.core.storage.engine import create_storage_engine, session_factory
from moonlight.core.storage.group_commit import GroupCommit

ACCOUNT = "acc-1"
ORDERS = 6
HANG_S = 120.0  # longer than the test waits: the process is killed while it hangs
CONFIG = ExecutorConfig(first_poll_delay_s=0.3, poll_interval_s=0.3, settle_grace_s=10.0)


class DyingGroupCommit(GroupCommit):
    """Writes nothing once results are staged: marks the moment, then hangs."""

    def __init__(self, *args: Any, markers: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.markers = markers

    def flush(self) -> int:
        if self.pending:
            (self.markers / "staged").write_text(str(self.pending), encoding="utf-8")
            time.sleep(HANG_S)  # the loop's thread stops here, before any COMMIT
        return super().flush()


async def main(mode: str, db: Path, markers: Path) -> dict[str, Any]:
    clock = WallClock()
    engine = create_storage_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    source = MockConnector(seed=11, clock=clock, history_s=120.0)
    paper = PaperBroker(
        source=source, book=SqlPaperBook(session_factory(engine)), clock=clock,
        poll_interval_s=0.1,
    )  # fmt: skip
    group = DyingGroupCommit(engine, markers=markers) if mode == "run" else GroupCommit(engine)
    executor = Executor(
        connector=paper, journal=OrderJournal(engine, group=group), clock=clock, config=CONFIG
    )
    await paper.connect()
    report = await executor.start([ACCOUNT])
    if mode == "recover":
        await executor.wait_idle()
        await executor.stop()
        executor.journal.close()
        await paper.close()
        return {"settled": report.settled, "resumed": report.resumed, "failed": report.failed}
    tasks = [
        executor.submit(
            OrderIntent(
                client_req_id=f"group-{number}",
                account_id=ACCOUNT,
                instrument="EURUSD",
                timeframe="5s",
                direction=Direction.UP if number % 2 else Direction.DOWN,
                stake=10.0 + number,
                duration_s=5,
                payout_pct=82.0,
            )
        )
        for number in range(ORDERS)
    ]
    await asyncio.gather(*tasks)
    return {"unexpected": "the group commit did not hang"}


if __name__ == "__main__":
    mode_, db_, markers_ = sys.argv[1:4]
    print(json.dumps(asyncio.run(main(mode_, Path(db_), Path(markers_)))))
