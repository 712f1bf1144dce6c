"""Price feeds: where the paper broker reads the prices it settles contracts on.

A feed answers two questions about one instrument, and says when it cannot answer yet:

* :meth:`PriceFeed.first_after` — the first price strictly after a time (the entry);
* :meth:`PriceFeed.last_at_or_before` — the prevailing price at a time (the exit).

Both return ``None`` while the answer is not final. :meth:`PriceFeed.known_until` is the
time up to which the feed has every price, so the paper broker can tell "not yet" from
"never".

Three feeds cover the three ways MoonLight trades on paper:

* :class:`MarketFeed` — a seeded :class:`RandomWalkMarket` (random access, any time up
  to the clock's now): the simulated market of ``moonlight run`` and of the tests;
* :class:`TickRecorder` — records the live ticks of another connector (paper trading on
  a real broker's prices); it only knows what it heard since it started;
* :class:`SeriesFeed` — arrays of times and prices per instrument (replays, backtests).
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Protocol

from moonlight.core.connectors.contract import Tick
from moonlight.core.connectors.market import RandomWalkMarket
from moonlight.core.runtime.clock import Clock


class PriceFeed(Protocol):
    """Prices the paper broker settles on; see the module docstring."""

    def known_until(self, instrument: str) -> float:
        """Every price of ``instrument`` up to this time (epoch s) is known."""
        ...

    def known_from(self, instrument: str) -> float:
        """From this time on the feed has every price of ``instrument``.

        A recorder that started listening late cannot know which prices it missed;
        a complete series or market returns ``-inf``.
        """
        ...

    def first_after(self, instrument: str, ts: float) -> Tick | None:
        """The first price strictly after ``ts``, or ``None`` if not known (yet)."""
        ...

    def last_at_or_before(self, instrument: str, ts: float) -> Tick | None:
        """The prevailing price at ``ts``, or ``None`` if not known."""
        ...


class MarketFeed:
    """Prices of a :class:`RandomWalkMarket`, revealed up to the clock's now."""

    def __init__(self, market: RandomWalkMarket, clock: Clock) -> None:
        self.market = market
        self.clock = clock

    def known_until(self, instrument: str) -> float:
        return self.clock.now()

    def known_from(self, instrument: str) -> float:
        return float("-inf")  # complete: no price exists before the origin

    def first_after(self, instrument: str, ts: float) -> Tick | None:
        tick_ts, price = self.market.first_price_after(instrument, ts)
        return Tick(instrument, tick_ts, price) if tick_ts <= self.clock.now() else None

    def last_at_or_before(self, instrument: str, ts: float) -> Tick | None:
        if ts > self.clock.now():
            return None
        index = self.market.last_index_at_or_before(ts)
        if index is None:
            return None
        price = self.market.price_at(instrument, ts)
        assert price is not None
        return Tick(instrument, self.market.tick_ts(index), price)


class _Series:
    """Sorted times and prices of one instrument (append-only for the recorder)."""

    def __init__(self, max_ticks: int | None = None) -> None:
        self.times: deque[float] | list[float] = deque(maxlen=max_ticks) if max_ticks else []
        self.prices: deque[float] | list[float] = deque(maxlen=max_ticks) if max_ticks else []

    def first_after(self, instrument: str, ts: float) -> Tick | None:
        index = bisect.bisect_right(self.times, ts)
        if index >= len(self.times):
            return None
        return Tick(instrument, self.times[index], self.prices[index])

    def last_at_or_before(self, instrument: str, ts: float) -> Tick | None:
        index = bisect.bisect_right(self.times, ts) - 1
        if index < 0:
            return None
        return Tick(instrument, self.times[index], self.prices[index])


class TickRecorder:
    """Keeps the last ``max_ticks`` ticks per instrument that a connector pushed.

    Feed it with :meth:`record` (the paper broker runs the subscriptions). It knows an
    instrument's prices from its first recorded tick up to its latest one; contracts
    opened before the recorder heard anything cannot be priced (the paper broker then
    refunds them with a reason).
    """

    def __init__(self, max_ticks: int = 100_000) -> None:
        self._max_ticks = max_ticks
        self._series: dict[str, _Series] = {}
        self._started: dict[str, float] = {}

    def start(self, instrument: str, at_ts: float) -> None:
        """Note that recording of ``instrument`` began at ``at_ts`` (subscription time)."""
        self._started.setdefault(instrument, at_ts)

    def record(self, tick: Tick) -> None:
        """Append one tick (ticks older than the latest one are ignored)."""
        series = self._series.setdefault(tick.instrument, _Series(self._max_ticks))
        if series.times and tick.ts <= series.times[-1]:
            return
        self._started.setdefault(tick.instrument, tick.ts)
        series.times.append(tick.ts)
        series.prices.append(tick.price)

    def known_until(self, instrument: str) -> float:
        series = self._series.get(instrument)
        return series.times[-1] if series and series.times else float("-inf")

    def known_from(self, instrument: str) -> float:
        series = self._series.get(instrument)
        start = self._started.get(instrument, float("inf"))
        if series and series.times:
            return max(start, series.times[0]) if len(series.times) == self._max_ticks else start
        return start

    def first_after(self, instrument: str, ts: float) -> Tick | None:
        series = self._series.get(instrument)
        return None if series is None else series.first_after(instrument, ts)

    def last_at_or_before(self, instrument: str, ts: float) -> Tick | None:
        series = self._series.get(instrument)
        if series is None or ts > self.known_until(instrument):
            return None
        return series.last_at_or_before(instrument, ts)


class SeriesFeed:
    """Fixed price series per instrument, revealed up to the clock's now (replays)."""

    def __init__(
        self, series: Mapping[str, tuple[Sequence[float], Sequence[float]]], clock: Clock
    ) -> None:
        self.clock = clock
        self._series: dict[str, _Series] = {}
        for instrument, (times, prices) in series.items():
            if len(times) != len(prices):
                raise ValueError(f"{instrument}: times and prices differ in length")
            if any(b <= a for a, b in itertools.pairwise(times)):
                raise ValueError(f"{instrument}: times must be strictly increasing")
            item = _Series()
            item.times = [float(t) for t in times]
            item.prices = [float(p) for p in prices]
            self._series[instrument] = item

    def known_until(self, instrument: str) -> float:
        return self.clock.now()

    def known_from(self, instrument: str) -> float:
        return float("-inf")  # the series is the whole history

    def first_after(self, instrument: str, ts: float) -> Tick | None:
        series = self._series.get(instrument)
        tick = None if series is None else series.first_after(instrument, ts)
        return tick if tick is not None and tick.ts <= self.clock.now() else None

    def last_at_or_before(self, instrument: str, ts: float) -> Tick | None:
        series = self._series.get(instrument)
        if series is None or ts > self.clock.now():
            return None
        return series.last_at_or_before(instrument, ts)
