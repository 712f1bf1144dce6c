"""Fixtures: a fake Deriv server on 127.0.0.1 running on an accelerated clock, and
connectors wired to it with short, test-sized timings."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from moonlight.connectors.deriv.config import DerivConfig
from moonlight.connectors.deriv.connector import DerivConnector
from moonlight.core.connectors.contract import OrderRequest
from moonlight.core.orders import Direction
from moonlight.core.runtime.clock import ScaledClock
from tests.connectors.deriv.fake_server import FakeDerivServer

T = TypeVar("T")

#: Server seconds per real second: a 15 s contract settles in 1.5 s of test time.
SPEED = 10.0
DEMO_TOKEN = "demo-token-0001"
REAL_TOKEN = "real-token-0002"
PAT = "pat-token-0003"
DEMO_LOGIN = "VRTC1001"
REAL_LOGIN = "CR2002"


def fast_options(server: FakeDerivServer, **overrides: Any) -> dict[str, Any]:
    """Connector options for the fake server: loopback allowlist, short timings."""
    options: dict[str, Any] = {
        "ws_url": server.ws_url,
        "rest_url": server.rest_url,
        "app_id": server.app_id,
        "allowed_hosts": ["127.0.0.1"],
        "symbols": ["R_100", "R_50", "frxEURUSD", "OTC_CLOSED"],
        "connect_timeout_s": 5.0,
        "request_timeout_s": 2.0,
        "buy_timeout_s": 1.0,
        "ping_interval_s": 5.0,
        "ping_timeout_s": 1.0,
        "reconnect_base_s": 0.05,
        "reconnect_cap_s": 0.5,
        "stable_after_s": 2.0,
        "rate_wait_s": 0.5,
        "rate_limit_retry_s": 0.2,
        "settle_check_s": 2.0,
        "instrument_cache_s": 0.0,
    }
    options.update(overrides)
    return options


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(start=float(int(time.time())), speed=SPEED)


@pytest.fixture
async def server(clock: ScaledClock) -> AsyncIterator[FakeDerivServer]:
    fake = FakeDerivServer(clock=clock, seed=11)
    fake.add_account(DEMO_LOGIN, token=DEMO_TOKEN, virtual=True)
    fake.add_account(REAL_LOGIN, token=REAL_TOKEN, virtual=False)
    fake.add_pat(PAT, DEMO_LOGIN, REAL_LOGIN)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


MakeConnector = Callable[..., DerivConnector]


@pytest.fixture
async def make_connector(
    server: FakeDerivServer, clock: ScaledClock
) -> AsyncIterator[MakeConnector]:
    built: list[DerivConnector] = []

    def make(*, token: str = DEMO_TOKEN, seed: int = 0, **overrides: Any) -> DerivConnector:
        config = DerivConfig.model_validate(fast_options(server, **overrides))
        connector = DerivConnector(config, token=token, clock=clock, rng=random.Random(seed))
        built.append(connector)
        return connector

    yield make
    for connector in built:
        await connector.close()


async def eventually(
    check: Callable[[], object | Awaitable[object]],
    *,
    timeout_s: float = 10.0,
    step_s: float = 0.05,
) -> None:
    """Wait until ``check()`` is truthy (bounded); fails the test with a clear message if not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() >= deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(step_s)


_order_ids = itertools.count(1)


def order(
    clock: ScaledClock,
    cid: str | None = None,
    *,
    instrument: str = "R_100",
    direction: Direction = Direction.UP,
    stake: float = 10.0,
    duration_s: int = 15,
    account_id: str = "acc-1",
) -> OrderRequest:
    """An OrderRequest decided now on the test clock."""
    return OrderRequest(
        client_req_id=cid or f"ord-{next(_order_ids)}",
        account_id=account_id,
        instrument=instrument,
        direction=direction,
        stake=stake,
        duration_s=duration_s,
        created_ts=clock.now(),
    )


async def next_item(iterator: AsyncIterator[T], timeout_s: float = 10.0) -> T:
    """The next item of an async iterator, bounded in time."""
    return await asyncio.wait_for(iterator.__anext__(), timeout_s)
