"""Issue 13, Olymp history paging: every bar exactly once across pages (a property).

The strict fake answers e:10 with a batch of ``candle_batch`` bars ending at ``to``,
counting either bars that *closed* by ``to`` or bars that *started* by it (the brief
does not say which, 4.4). For any batch size, timeframe, count and end time — page
boundaries anywhere — ``candles()`` must return the newest ``count`` closed bars, each
once, in order, with the broker's own values. One broker and one connector serve every
example from a background event loop (connecting per example would dominate the run).
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from moonlight.connectors.olymp import OlympConnector
from moonlight.core.connectors.contract import Candle
from tests.support.olymp_fake import StrictOlympBroker
from tests.support.olymp_rig import strict_connector


@dataclass
class Served:
    loop: asyncio.AbstractEventLoop
    broker: StrictOlympBroker
    connector: OlympConnector

    def run(self, coro: Any, timeout_s: float = 60.0) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout_s)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    broker = StrictOlympBroker(seed=21, history_s=10 * 86_400.0)

    async def up() -> OlympConnector:
        await broker.__aenter__()
        connector = strict_connector(broker, candle_max_pages=1000)
        await connector.connect()
        return connector

    holder = Served(loop, broker, asyncio.run_coroutine_threadsafe(up(), loop).result(30))
    try:
        yield holder
    finally:
        holder.run(holder.connector.close())
        holder.run(broker.__aexit__(None, None, None))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch=st.one_of(st.sampled_from([1, 2, 3, 50, 100]), st.integers(1, 120)),
    counting=st.sampled_from(["end", "start"]),
    timeframe_s=st.sampled_from([5, 15, 60, 300]),
    count=st.integers(1, 150),
    back_s=st.floats(0.0, 7200.0),
)
def test_every_bar_once_across_pages(
    served: Served, batch: int, counting: str, timeframe_s: int, count: int, back_s: float
) -> None:
    broker = served.broker
    broker.candle_batch = batch
    broker.candle_to = counting  # type: ignore[assignment]
    end = broker.clock.now() - 2 * timeframe_s - back_s
    candles: list[Candle] = served.run(
        served.connector.candles("EURUSD", timeframe_s, count=count, end_ts=end)
    )
    last = math.floor(end / timeframe_s) * timeframe_s - timeframe_s  # newest closed bar
    expected = [last - i * timeframe_s for i in range(count)][::-1]
    starts = [c.start_ts for c in candles]
    assert starts == expected, f"missing {sorted(set(expected) - set(starts))[:5]}"
    for candle in candles[:3] + candles[-3:]:
        bar = broker.bar("EURUSD", int(candle.start_ts), timeframe_s, broker.clock.now())
        assert (candle.open, candle.close) == (bar["open"], bar["close"])
