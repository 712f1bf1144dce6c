"""BarCloseFeed: the prices a paper broker settles on when all it has is bars.

Between two bar closes a candle history says nothing about the price, so the feed
treats the price as a step function: **the price at an instant is the close of the last
bar that ended at or before it.** Under that path the paper broker's rule (entry = the
first price after acceptance, exit = the prevailing price at expiry) becomes:

* **entry** -- the close of the last bar ended at acceptance (a decision taken just
  after a bar closed enters at that bar's close);
* **exit** -- the close of the last bar ended at expiry; when no bar closed between
  acceptance and expiry (a data gap: weekend, halt) the price never moved and the
  contract is a push.

That is the rule the offline calibration assumes (entry at a close, exit at the close
``expiry`` later), so calibration, the vectorised research path and the event-driven
backtest agree on every outcome. Prices are known up to (not including) the earliest
instant the next bar after the data could close: a contract expiring later than that
cannot be priced and stays open when the backtest ends, instead of being settled on a
price nobody saw.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping

from moonlight.core.connectors.contract import Tick
from moonlight.core.data.candles import CandleSeries
from moonlight.core.runtime.clock import Clock


class _Steps:
    """Bar close times and prices of one instrument (finest timeframe loaded)."""

    __slots__ = ("closes", "ends", "known_until")

    def __init__(self, series: CandleSeries) -> None:
        self.ends: list[float] = series.end_ts.tolist()
        self.closes: list[float] = series.close.tolist()
        last = self.ends[-1] if self.ends else -math.inf
        self.known_until = math.nextafter(last + series.timeframe_s, -math.inf)

    def index_at(self, ts: float) -> int:
        """Index of the last bar ended at or before ``ts`` (-1 when none)."""
        return bisect.bisect_right(self.ends, ts) - 1


class BarCloseFeed:
    """A :class:`~moonlight.core.connectors.feeds.PriceFeed` over bar closes; see above."""

    def __init__(self, series: Mapping[str, CandleSeries], clock: Clock) -> None:
        self.clock = clock
        self._steps = {name: _Steps(s.require_ordered()) for name, s in series.items()}

    def known_until(self, instrument: str) -> float:
        steps = self._steps.get(instrument)
        if steps is None:
            return -math.inf
        return min(self.clock.now(), steps.known_until)

    def known_from(self, instrument: str) -> float:
        return -math.inf  # the history is complete from its first bar

    def first_after(self, instrument: str, ts: float) -> Tick | None:
        """The price an instant after ``ts``: the close prevailing at ``ts`` (once known)."""
        steps = self._steps.get(instrument)
        if steps is None or not steps.ends:
            return None
        index = steps.index_at(ts)
        if index < 0:  # before the first close: the first close is the first price
            first = steps.ends[0]
            return Tick(instrument, first, steps.closes[0]) if first <= self.clock.now() else None
        after = math.nextafter(ts, math.inf)
        if after > self.known_until(instrument):
            return None
        return Tick(instrument, after, steps.closes[index])

    def last_at_or_before(self, instrument: str, ts: float) -> Tick | None:
        """The close of the last bar ended at or before ``ts``, stamped with that close."""
        steps = self._steps.get(instrument)
        if steps is None or ts > self.known_until(instrument):
            return None
        index = steps.index_at(ts)
        if index < 0:
            return None
        return Tick(instrument, steps.ends[index], steps.closes[index])
