"""Bars built locally from e:1 ticks (brief 4.4: no live-candle stream works in 2025).

A :class:`BarBuilder` aggregates the ticks of one pair into epoch-aligned bars of one
timeframe, in server time. It only vouches for a bar it saw from its very start: after
a subscription begins or a connection gap, the partly seen bar is not *complete*, and
the candle stream back-fills it from the server's e:10 history instead.

Coverage starts at the broker's own stamp on the first tick that arrives after the
subscription is acknowledged, never at a local estimate of server time: ticks can race
the acknowledgement (read before the subscribing coroutine resumes, so not counted) and
the estimated server clock can lag the broker's by the ping's asymmetry, either of
which let a bar whose first ticks were never counted pass as complete under load.
Ticks arrive in order, so every tick after the first one is seen, and a bar that starts
strictly after it was seen whole. Volume is the
number of ticks in the bar (Olymp publishes no traded volume for these assets).
"""

from __future__ import annotations

import math
from collections import OrderedDict

from moonlight.connectors.olymp.payloads import TickData
from moonlight.core.connectors.contract import Candle


class BarBuilder:
    """Complete bars of one pair and timeframe, built from ticks."""

    def __init__(self, pair: str, timeframe_s: int, *, keep_bars: int = 512) -> None:
        self.pair = pair
        self.timeframe_s = timeframe_s
        #: Server time after which every tick is seen (None: not covered).
        self.covered_from: float | None = None
        self._awaiting_first_tick = False
        self._keep = keep_bars
        self._start: float | None = None
        self._ohlc: list[float] = []
        self._ticks = 0
        self._complete: OrderedDict[float, Candle] = OrderedDict()

    def begin(self) -> None:
        """The subscription is acknowledged: coverage starts at the next tick's stamp."""
        if self.covered_from is None:
            self._awaiting_first_tick = True
            self._start = None

    def gap(self) -> None:
        """Ticks were (or may have been) missed: the current bar cannot be trusted."""
        self.covered_from = None
        self._awaiting_first_tick = False
        self._start = None

    def add(self, tick: TickData) -> None:
        """Account for one tick (older-than-current ticks are ignored)."""
        if self._awaiting_first_tick:
            self.covered_from = tick.ts
            self._awaiting_first_tick = False
        if self.covered_from is None or tick.ts < self.covered_from:
            return
        start = math.floor(tick.ts / self.timeframe_s) * self.timeframe_s
        if self._start is not None and start < self._start:
            return
        if self._start is not None and start > self._start:
            self._finish()
        if self._start is None:
            self._start = float(start)
            self._ohlc = [tick.price, tick.price, tick.price, tick.price]
            self._ticks = 0
        ohlc = self._ohlc
        ohlc[1] = max(ohlc[1], tick.price)
        ohlc[2] = min(ohlc[2], tick.price)
        ohlc[3] = tick.price
        self._ticks += 1

    def close_due(self, server_now: float) -> None:
        """Finish the current bar if its period has ended."""
        if self._start is not None and self._start + self.timeframe_s <= server_now:
            self._finish()

    def get(self, start_ts: float) -> Candle | None:
        """The complete bar starting at ``start_ts``, if the builder has it."""
        return self._complete.get(start_ts)

    def forget_before(self, ts: float) -> None:
        """Drop complete bars that start before ``ts`` (already emitted)."""
        for start in [s for s in self._complete if s < ts]:
            del self._complete[start]

    def _finish(self) -> None:
        start = self._start
        self._start = None
        if start is None or self.covered_from is None or self.covered_from >= start:
            return  # saw only part of it (or cannot tell: a tick stamped at its start)
        o, h, low, c = self._ohlc
        self._complete[start] = Candle(
            instrument=self.pair,
            timeframe_s=self.timeframe_s,
            start_ts=start,
            open=o,
            high=h,
            low=low,
            close=c,
            volume=float(self._ticks),
        )
        while len(self._complete) > self._keep:
            self._complete.popitem(last=False)
