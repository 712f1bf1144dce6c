"""The mock broker on the wall clock, with short contracts so settlements come quickly."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.contract.env import ContractEnv

NAME = "mock"
REQUIRES = ("moonlight.core.connectors.mock",)


@asynccontextmanager
async def make_env(tmp_path: Path) -> AsyncIterator[ContractEnv]:
    from moonlight.core.connectors.mock import MockConnector
    from moonlight.core.runtime.clock import WallClock

    mock = MockConnector(
        seed=11,
        clock=WallClock(),
        durations_s=(1, 2, 60),
        stake_min=1.0,
        stake_max=500.0,
        tick_interval_s=0.1,
        history_s=6 * 3600.0,
    )
    await mock.connect()
    try:
        yield ContractEnv(
            name=NAME,
            connector=mock,
            account_id="acc-1",
            instrument="EURUSD",
            timeframe_s=60,
            duration_s=1,
            stake=10.0,
            rejected_stake=5000.0,
            broker_order_count=lambda: len(mock.all_orders()),
            broker_now=time.time,
            dedupes_client_req_id=False,
        )
    finally:
        await mock.close()
