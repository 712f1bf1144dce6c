"""The paper broker on the mock market, with a book that counts what it opens."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from moonlight.core.connectors.contract import AccountKind
from tests.contract.env import ContractEnv

NAME = "paper"
REQUIRES = ("moonlight.core.connectors.paper",)


@asynccontextmanager
async def make_env(tmp_path: Path) -> AsyncIterator[ContractEnv]:
    from moonlight.core.connectors.mock import MockConnector
    from moonlight.core.connectors.paper import PaperBroker
    from moonlight.core.connectors.paper_book import ContractRecord, MemoryPaperBook
    from moonlight.core.runtime.clock import WallClock

    class CountingBook(MemoryPaperBook):
        """The paper book, counting contracts actually opened in it."""

        opened = 0

        def open_contract(self, record: ContractRecord) -> None:
            super().open_contract(record)
            self.opened += 1

    clock = WallClock()
    source = MockConnector(
        seed=12,
        clock=clock,
        durations_s=(1, 2, 60),
        stake_max=500.0,
        tick_interval_s=0.1,
        history_s=6 * 3600.0,
    )
    book = CountingBook()
    paper = PaperBroker(source=source, book=book, clock=clock, poll_interval_s=0.1)
    await paper.connect()
    try:
        yield ContractEnv(
            name=NAME,
            broker_account_kind=AccountKind.PAPER,
            connector=paper,
            account_id="acc-1",
            instrument="EURUSD",
            timeframe_s=60,
            duration_s=1,
            stake=10.0,
            rejected_stake=5000.0,
            broker_order_count=lambda: book.opened,
            broker_now=time.time,
        )
    finally:
        await paper.close()
