"""ReplayConnector: historical candles served on the engine's (simulated) clock.

The replay is a market-data connector: workers ask it for closed candles exactly as
they ask a broker, and it answers from preloaded arrays -- a bar is returned only once
the clock has passed its close, so the engine can never see the future. Orders are not
its business: accounts that trade on it run in ``paper`` mode, and the paper broker
settles their contracts on :meth:`ReplayConnector.price_feed` (bar closes, see
:mod:`moonlight.core.backtest.feed`).

Answers are O(log n) in the history length and allocate only the candles returned
(each :class:`~moonlight.core.connectors.contract.Candle` is built once, on first use).
A worker asking for another timeframe than the one loaded gets bars resampled from it
(:func:`moonlight.core.data.resample.resample`, computed once per timeframe).
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator, Iterable, Sequence

from moonlight.core.backtest.feed import BarCloseFeed
from moonlight.core.connectors.contract import (
    Balance,
    BrokerAccount,
    BrokerOrder,
    Candle,
    Connector,
    Instrument,
    OrderAck,
    OrderRequest,
    Rejected,
    Settlement,
    Tick,
)
from moonlight.core.connectors.streams import Subscription
from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.errors import DataError
from moonlight.core.data.resample import resample
from moonlight.core.runtime.clock import Clock

DEFAULT_DURATIONS_S: tuple[int, ...] = (5, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600)


class _Bars:
    """One instrument at one timeframe: arrays plus lazily built Candle objects."""

    __slots__ = ("_columns", "candles", "ends", "series")

    def __init__(self, series: CandleSeries) -> None:
        self.series = series
        self.ends: list[float] = series.end_ts.tolist()
        self.candles: list[Candle | None] = [None] * len(series)
        self._columns: tuple[list[float], ...] | None = None

    def candle(self, index: int) -> Candle:
        candle = self.candles[index]
        if candle is None:
            columns = self._columns
            if columns is None:  # Python floats once, not a numpy scalar per field and bar
                s = self.series
                columns = self._columns = tuple(
                    c.tolist() for c in (s.start_ts, s.open, s.high, s.low, s.close, s.volume)
                )
            start, open_, high, low, close, volume = columns
            candle = self.candles[index] = Candle(
                self.series.instrument,
                self.series.timeframe_s,
                start[index],
                open_[index],
                high[index],
                low[index],
                close[index],
                volume[index],
            )
        return candle


class ReplayConnector(Connector):
    """Candles (and settlement prices) from loaded history; see the module docstring."""

    name = "replay"

    def __init__(
        self,
        series: Iterable[CandleSeries],
        *,
        clock: Clock,
        payout_pct: float = 85.0,
        stake_min: float = 1.0,
        stake_max: float = 1000.0,
        durations_s: Sequence[int] = DEFAULT_DURATIONS_S,
        currency: str = "USD",
    ) -> None:
        self.clock = clock
        self.payout_pct = payout_pct
        self.stake_min = stake_min
        self.stake_max = stake_max
        self.durations_s = tuple(durations_s)
        self.currency = currency
        self._finest: dict[str, CandleSeries] = {}
        self._bars: dict[tuple[str, int], _Bars] = {}
        self._instruments: tuple[Instrument, ...] = ()
        for item in series:
            item.require_ordered()
            known = self._finest.get(item.instrument)
            if known is not None and known.timeframe_s == item.timeframe_s:
                raise DataError(
                    f"{item.instrument}: two histories at {item.timeframe_s} s were given"
                )
            self._bars[(item.instrument, item.timeframe_s)] = _Bars(item)
            if known is None or item.timeframe_s < known.timeframe_s:
                self._finest[item.instrument] = item
        if not self._finest:
            raise DataError("the replay needs at least one candle history")
        self._instruments = tuple(
            Instrument(
                symbol=name,
                payout_pct=payout_pct,
                stake_min=stake_min,
                stake_max=stake_max,
                durations_s=self.durations_s,
                currency=currency,
            )
            for name in self._finest
        )

    # -- what was loaded ----------------------------------------------------------------

    @property
    def instruments_loaded(self) -> tuple[str, ...]:
        """Instruments with a history, in load order."""
        return tuple(self._finest)

    def series(self, instrument: str, timeframe_s: int | None = None) -> CandleSeries:
        """The bars served for ``instrument`` (at ``timeframe_s``, resampled if needed)."""
        if timeframe_s is None:
            return self._finest_of(instrument)
        return self._bars_of(instrument, timeframe_s).series

    def price_feed(self, clock: Clock | None = None) -> BarCloseFeed:
        """Settlement prices for a paper broker: the finest bars of every instrument."""
        return BarCloseFeed(self._finest, clock or self.clock)

    def _finest_of(self, instrument: str) -> CandleSeries:
        try:
            return self._finest[instrument]
        except KeyError:
            raise Rejected(f"no history loaded for {instrument!r}") from None

    def _bars_of(self, instrument: str, timeframe_s: int) -> _Bars:
        bars = self._bars.get((instrument, timeframe_s))
        if bars is None:
            finest = self._finest_of(instrument)
            try:
                resampled = resample(finest, timeframe_s)
            except DataError as error:
                raise Rejected(f"{instrument}: {error}") from None
            bars = self._bars[(instrument, timeframe_s)] = _Bars(resampled)
        return bars

    # -- life cycle ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Nothing to connect: the history is in memory."""

    async def close(self) -> None:
        """Nothing to close."""

    # -- market data --------------------------------------------------------------------

    async def server_time(self) -> float:
        return self.clock.now()

    async def instruments(self) -> Sequence[Instrument]:
        """Every loaded instrument at the configured payout (the same records each call)."""
        return self._instruments

    async def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> Sequence[Candle]:
        """Up to ``count`` bars closed at or before ``end_ts`` and the clock's now."""
        return self.closed_candles(instrument, timeframe_s, count=count, end_ts=end_ts)

    def closed_candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> list[Candle]:
        """:meth:`candles` without the coroutine (for callers outside the event loop)."""
        now = self.clock.now()
        limit = now if end_ts is None or end_ts > now else end_ts
        bars = self._bars_of(instrument, timeframe_s)
        stop = bisect.bisect_right(bars.ends, limit)
        start = max(0, stop - max(0, count))
        return [bars.candle(i) for i in range(start, stop)]

    def subscribe_candles(self, instrument: str, timeframe_s: int) -> AsyncIterator[Candle]:
        return self._candle_stream(instrument, timeframe_s)

    async def _candle_stream(self, instrument: str, timeframe_s: int) -> AsyncIterator[Candle]:
        bars = self._bars_of(instrument, timeframe_s)
        index = bisect.bisect_right(bars.ends, self.clock.now())
        while index < len(bars.ends):
            await self.clock.sleep_until(bars.ends[index])
            yield bars.candle(index)
            index += 1

    def subscribe_ticks(self, instrument: str) -> AsyncIterator[Tick]:
        return self._tick_stream(instrument)

    async def _tick_stream(self, instrument: str) -> AsyncIterator[Tick]:
        """Each bar close of the finest history, as a price at the close time."""
        finest = self._finest_of(instrument)
        ends = finest.end_ts.tolist()
        closes = finest.close.tolist()
        index = bisect.bisect_right(ends, self.clock.now())
        while index < len(ends):
            await self.clock.sleep_until(ends[index])
            yield Tick(instrument, ends[index], closes[index])
            index += 1

    # -- orders: not a broker -------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        raise Rejected("the replay connector serves market data only: trade it in paper mode")

    async def order_status(self, account_id: str, broker_order_id: str) -> BrokerOrder | None:
        return None  # it never opened an order

    async def find_order(self, request: OrderRequest) -> BrokerOrder | None:
        return None  # it never opened an order

    async def open_orders(self, account_id: str) -> Sequence[BrokerOrder]:
        return []

    def subscribe_settlements(self, account_id: str) -> AsyncIterator[Settlement]:
        return Subscription()  # nothing ever settles here

    async def balance(self, account_id: str) -> Balance:
        raise Rejected("the replay connector has no accounts: trade it in paper mode")

    async def account_info(self, account_id: str) -> BrokerAccount:
        raise Rejected("the replay connector has no accounts: trade it in paper mode")

    @property
    def connection_epoch(self) -> int:
        """History in memory never reconnects."""
        return 1
