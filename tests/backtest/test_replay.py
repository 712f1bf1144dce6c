"""The replay connector and the bar-close feed: history on the simulated clock."""

from __future__ import annotations

import math

import pytest

from moonlight.core.backtest.feed import BarCloseFeed
from moonlight.core.backtest.replay import ReplayConnector
from moonlight.core.connectors.contract import OrderRequest, Rejected
from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.errors import DataValidationError
from moonlight.core.orders import Direction
from moonlight.core.runtime.clock import FastForwardClock

T0 = 1_704_067_200.0  # Monday 2024-01-01T00:00Z


def minutes(index: list[int], instrument: str = "EURUSD") -> CandleSeries:
    closes = [100.0 + i for i in index]
    return CandleSeries.from_arrays(
        instrument,
        60,
        {
            "start_ts": [T0 + 60 * i for i in index],
            "open": closes,
            "high": [c + 0.5 for c in closes],
            "low": [c - 0.5 for c in closes],
            "close": closes,
            "volume": [1.0] * len(index),
        },
    )


async def test_candles_never_come_from_the_future() -> None:
    clock = FastForwardClock(T0 + 5 * 60 + 0.5)
    replay = ReplayConnector([minutes(list(range(10)))], clock=clock)
    bars = await replay.candles("EURUSD", 60, count=3)
    assert [b.end_ts for b in bars] == [T0 + 180, T0 + 240, T0 + 300]
    assert (await replay.candles("EURUSD", 60, count=100, end_ts=T0 + 9999))[-1].end_ts == T0 + 300
    assert await replay.candles("EURUSD", 60, count=2, end_ts=T0 + 120) == await replay.candles(
        "EURUSD", 60, count=2, end_ts=T0 + 150
    )
    assert await replay.candles("EURUSD", 60, count=0) == []
    # the same Candle objects are served again (built once)
    first = await replay.candles("EURUSD", 60, count=1)
    assert first[0] is (await replay.candles("EURUSD", 60, count=1))[0]


async def test_other_timeframes_are_resampled_and_gaps_stay_gaps() -> None:
    clock = FastForwardClock(T0 + 3600)
    replay = ReplayConnector([minutes([0, 1, 2, 3, 4, 5, 6, 12, 13, 14])], clock=clock)
    five = await replay.candles("EURUSD", 300, count=10)
    assert [b.start_ts for b in five] == [T0, T0 + 300, T0 + 600]
    assert five[0].close == 104.0 and five[1].open == 105.0 and five[1].close == 106.0
    with pytest.raises(Rejected):
        await replay.candles("EURUSD", 90, count=1)
    with pytest.raises(Rejected, match="no history"):
        await replay.candles("GBPUSD", 60, count=1)


async def test_instruments_streams_and_orders() -> None:
    clock = FastForwardClock(T0 + 60)
    replay = ReplayConnector([minutes(list(range(5)))], clock=clock, payout_pct=80.0)
    (instrument,) = await replay.instruments()
    assert instrument.symbol == "EURUSD" and instrument.payout_pct == 80.0
    assert await replay.server_time() == clock.now()
    closes = []
    async for candle in replay.subscribe_candles("EURUSD", 60):
        closes.append((clock.now(), candle.close))
    assert closes == [(T0 + 60 * (i + 1), 100.0 + i) for i in range(1, 5)]
    request = OrderRequest("c", "acc", "EURUSD", Direction.UP, 1.0, 60, clock.now())
    with pytest.raises(Rejected, match="paper"):
        await replay.place_order(request)
    assert await replay.find_order(request) is None


def test_unordered_history_is_refused() -> None:
    with pytest.raises(DataValidationError):
        ReplayConnector([minutes([0, 2, 1])], clock=FastForwardClock(T0))


def test_bar_close_feed_prices_contracts_as_documented() -> None:
    clock = FastForwardClock(T0 + 3600)
    # bars 0..4, then a gap, then bars 10..11
    feed = BarCloseFeed({"EURUSD": minutes([0, 1, 2, 3, 4, 10, 11])}, clock)
    decided = T0 + 3 * 60 + 0.5  # just after bar 2 closed (close 102)
    entry = feed.first_after("EURUSD", decided)
    assert entry is not None and entry.price == 102.0 and entry.ts > decided
    exit_tick = feed.last_at_or_before("EURUSD", decided + 60)
    assert exit_tick is not None and exit_tick.price == 103.0 and exit_tick.ts == T0 + 240
    # across the gap the price stays: no close after the last one before it
    stuck = feed.last_at_or_before("EURUSD", T0 + 8 * 60 + 0.5)
    assert stuck is not None and stuck.price == 104.0 and stuck.ts == T0 + 300
    # prices are known up to the earliest next close after the data, not beyond
    assert feed.known_until("EURUSD") == math.nextafter(T0 + 13 * 60, -math.inf)
    assert feed.last_at_or_before("EURUSD", T0 + 13 * 60) is None
    assert feed.first_after("GBPUSD", decided) is None
    early = FastForwardClock(decided)
    assert (
        BarCloseFeed({"EURUSD": minutes([0, 1, 2, 3])}, early).first_after("EURUSD", decided)
        is None
    )
