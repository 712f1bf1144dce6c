"""``Connector.candles_batch``: the default answers each distinct series as ``candles`` would.

Checked on the mock broker (a connector MoonLight did not write against this call) with
hypothesis-chosen lists of series -- repeats, any order, several instruments and
timeframes -- and a counting subclass: one ``candles`` request per distinct series, none
for an empty list, and a broker failure part-way through raised, not swallowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from hypothesis import given, settings, strategies as st

from moonlight.core.connectors.contract import Candle, SeriesKey, Transient
from moonlight.core.connectors.mock import FaultKind, MockConnector
from moonlight.core.runtime.clock import FastForwardClock

T0 = 1_700_000_040.0
SERIES = st.tuples(st.sampled_from(["EURUSD", "GBPUSD", "BTCUSD"]), st.sampled_from([15, 60, 300]))


class CountingMock(MockConnector):
    """The mock broker, recording every single-series request it answers."""

    def __init__(self) -> None:
        super().__init__(seed=5, clock=FastForwardClock(T0))
        self.requests: list[tuple[str, int, int, float | None]] = []
        #: A series whose request the broker answers with a 503.
        self.failing: SeriesKey | None = None

    async def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> Sequence[Candle]:
        self.requests.append((instrument, timeframe_s, count, end_ts))
        if (instrument, timeframe_s) == self.failing:
            self.faults.query.append(FaultKind.SERVER_ERROR)
        return await super().candles(instrument, timeframe_s, count=count, end_ts=end_ts)


async def _batch_and_singles(
    series: list[SeriesKey], count: int, back_s: int
) -> tuple[CountingMock, dict[SeriesKey, Sequence[Candle]], dict[SeriesKey, Sequence[Candle]]]:
    connector = CountingMock()
    await connector.connect()
    try:
        end_ts = T0 - back_s
        batch = await connector.candles_batch(series, count=count, end_ts=end_ts)
        requests = list(connector.requests)
        singles = {
            key: await connector.candles(key[0], key[1], count=count, end_ts=end_ts)
            for key in series
        }
        connector.requests = requests
        return connector, batch, singles
    finally:
        await connector.close()


@settings(max_examples=40, deadline=None)
@given(
    series=st.lists(SERIES, max_size=12),
    count=st.integers(1, 40),
    back_s=st.integers(0, 3_600),
)
def test_batch_equals_one_candles_call_per_distinct_series(
    series: list[SeriesKey], count: int, back_s: int
) -> None:
    connector, batch, singles = asyncio.run(_batch_and_singles(series, count, back_s))
    distinct = list(dict.fromkeys(series))
    assert list(batch) == distinct
    assert {key: list(value) for key, value in batch.items()} == {
        key: list(value) for key, value in singles.items()
    }
    assert [(i, tf) for i, tf, _, _ in connector.requests] == distinct
    assert all(c == count and end == T0 - back_s for _, _, c, end in connector.requests)
    for (instrument, timeframe_s), candles in batch.items():
        assert all(c.instrument == instrument and c.timeframe_s == timeframe_s for c in candles)
        assert all(c.end_ts <= T0 - back_s for c in candles)


async def test_a_broker_failure_part_way_is_raised() -> None:
    connector = CountingMock()
    await connector.connect()
    try:
        connector.failing = ("GBPUSD", 60)
        with pytest.raises(Transient):
            await connector.candles_batch(
                [("EURUSD", 60), ("GBPUSD", 60), ("BTCUSD", 60)], count=5, end_ts=T0
            )
        assert [key[:2] for key in connector.requests] == [("EURUSD", 60), ("GBPUSD", 60)]
    finally:
        await connector.close()
