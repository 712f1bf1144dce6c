"""The Olymp connector against the loopback fake Olymp server (tests/connectors/olymp)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.contract.env import ContractEnv

NAME = "olymp"
REQUIRES = ("moonlight.connectors.olymp", "websockets")


@asynccontextmanager
async def make_env(tmp_path: Path) -> AsyncIterator[ContractEnv]:
    from tests.connectors.olymp.fake_server import DEMO_ACCOUNT, FakeOlympServer
    from tests.connectors.olymp.support import olymp_connector

    async with FakeOlympServer() as server:
        connector = olymp_connector(server)
        await connector.connect()
        try:
            yield ContractEnv(
                name=NAME,
                connector=connector,
                account_id="acc-1",
                instrument="EURUSD",
                timeframe_s=60,
                duration_s=1,
                stake=10.0,
                rejected_stake=5000.0,
                broker_order_count=lambda: len(server.deals_of(DEMO_ACCOUNT)),
                broker_now=server.now,
            )
        finally:
            await connector.close()
