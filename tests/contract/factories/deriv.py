"""The Deriv connector against its loopback fake server (legacy v3 socket, demo account).

The contract suite measures time with ``time.time()``, so the fake server runs on the
wall clock here. Its ``1HZ100V`` symbol (a one-tick-per-second index) accepts contracts
from 2 s, so a settlement takes seconds, not Deriv's usual 15 s minimum.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.contract.env import ContractEnv

NAME = "deriv"
REQUIRES = ("moonlight.connectors.deriv", "websockets")


@asynccontextmanager
async def make_env(tmp_path: Path) -> AsyncIterator[ContractEnv]:
    from moonlight.connectors.deriv.config import DerivConfig
    from moonlight.connectors.deriv.connector import DerivConnector
    from moonlight.core.runtime.clock import WallClock
    from tests.connectors.deriv.conftest import DEMO_LOGIN, DEMO_TOKEN, fast_options
    from tests.connectors.deriv.fake_server import FakeDerivServer, SymbolSpec

    clock = WallClock()
    fast = SymbolSpec("1HZ100V", "Volatility 100 (1s) Index", 500.0, min_duration_s=1)
    server = FakeDerivServer(clock=clock, seed=13, symbols=(fast,))
    server.add_account(DEMO_LOGIN, token=DEMO_TOKEN, virtual=True)
    await server.start()
    config = DerivConfig.model_validate(
        fast_options(server, symbols=["1HZ100V"], durations_s=[2, 5, 15, 60])
    )
    connector = DerivConnector(config, token=DEMO_TOKEN, clock=clock, rng=random.Random(3))
    try:
        await connector.connect()
        yield ContractEnv(
            name=NAME,
            connector=connector,
            account_id="acc-1",
            instrument="1HZ100V",
            timeframe_s=60,
            duration_s=2,
            stake=10.0,
            rejected_stake=5000.0,
            broker_order_count=lambda: len(server.contracts),
            broker_now=lambda: float(server.now()),
        )
    finally:
        await connector.close()
        await server.stop()
