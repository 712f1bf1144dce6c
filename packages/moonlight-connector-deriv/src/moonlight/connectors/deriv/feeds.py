"""Market-data streams that survive reconnects without a gap.

A feed is one server subscription shared by every local subscriber of the same
instrument (and timeframe). Both kinds use ``ticks_history`` with ``subscribe: 1``:

* :class:`CandleFeed` -- ``style: candles``: the first reply lists recent candles, then
  ``ohlc`` messages update the forming candle. A candle is emitted once, when an
  ``ohlc`` with a later ``open_time`` proves it closed (or the history shows it closed).
* :class:`TickFeed` -- ``style: ticks``: a ``history`` reply, then ``tick`` messages.

After a reconnect the link calls :meth:`start` again: the new first reply back-fills
every candle/tick after the last one emitted, so consumers see each item exactly once,
in order. Only when the outage outgrew what one reply can return (``MAX_HISTORY``) does
the feed end its subscribers with :class:`Disconnected`, as the contract asks.
Duplicated or stale stream messages are ignored.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable
from typing import Any

from moonlight.connectors.deriv import codec
from moonlight.connectors.deriv.protocol import Message, ProtocolError
from moonlight.connectors.deriv.transport import Session
from moonlight.core.connectors.contract import Candle, ConnectorError, Disconnected, Tick
from moonlight.core.connectors.streams import Subscription

log = logging.getLogger("moonlight.connectors.deriv")

MAX_HISTORY = 5000


class _Feed(abc.ABC):
    """Shared plumbing: subscribers, the current server stream, failure."""

    call = "ticks_history"

    def __init__(self, instrument: str, now: Callable[[], float]) -> None:
        self.instrument = instrument
        self._now = now
        self.subscribers: list[Subscription[Any]] = []
        self.session: Session | None = None
        self.req_id: int | None = None
        self.bad_messages = 0

    def add(self, subscription: Subscription[Any]) -> None:
        self.subscribers.append(subscription)

    def remove(self, subscription: Subscription[Any]) -> None:
        if subscription in self.subscribers:
            self.subscribers.remove(subscription)

    def emit(self, item: Any) -> None:
        for subscriber in list(self.subscribers):
            subscriber.put(item)

    def fail(self, error: ConnectorError) -> None:
        for subscriber in list(self.subscribers):
            subscriber.fail(error)
        self.subscribers.clear()

    def end(self) -> None:
        for subscriber in list(self.subscribers):
            subscriber.end()
        self.subscribers.clear()

    def on_message(self, message: Message) -> None:
        """Route one reply or stream message; malformed ones are counted and skipped."""
        try:
            self.handle(message)
        except ProtocolError as error:
            self.bad_messages += 1
            log.warning("deriv: skipped a malformed %s message: %s", message.msg_type, error)

    @abc.abstractmethod
    def handle(self, message: Message) -> None:
        """Apply one reply or stream message of this feed."""

    @abc.abstractmethod
    def request(self) -> dict[str, Any]:
        """The subscription request (re)sent on every (re)connect."""


class CandleFeed(_Feed):
    """Closed candles of one instrument and timeframe; see the module docstring."""

    def __init__(self, instrument: str, timeframe_s: int, now: Callable[[], float]) -> None:
        super().__init__(instrument, now)
        self.timeframe_s = timeframe_s
        self.last_emitted_ts: float | None = None
        self.forming: Candle | None = None

    def request(self) -> dict[str, Any]:
        count = 3
        if self.last_emitted_ts is not None:
            missing = (self._now() - self.last_emitted_ts) / self.timeframe_s
            count = int(min(MAX_HISTORY, max(3, missing + 3)))
        return {
            "ticks_history": self.instrument,
            "style": "candles",
            "granularity": self.timeframe_s,
            "end": "latest",
            "count": count,
            "subscribe": 1,
        }

    def handle(self, message: Message) -> None:
        if message.msg_type == "candles":
            self._history(codec.candles(message.result(), self.instrument, self.timeframe_s))
        elif message.msg_type == "ohlc":
            self._update(codec.ohlc(message.result_object(), self.instrument, self.timeframe_s))

    def _history(self, candles: list[Candle]) -> None:
        now = self._now()
        closed = [c for c in candles if c.end_ts <= now]
        forming = [c for c in candles if c.end_ts > now]
        if self.last_emitted_ts is None:
            if closed:
                self.last_emitted_ts = closed[-1].start_ts
        else:
            if (
                len(candles) >= MAX_HISTORY
                and candles
                and candles[0].start_ts > self.last_emitted_ts + self.timeframe_s
            ):
                self.fail(Disconnected("deriv: candle gap longer than one history reply"))
                return
            for candle in closed:
                self._emit_closed(candle)
        if forming:
            self._update(forming[-1])

    def _update(self, candle: Candle) -> None:
        if self.last_emitted_ts is not None and candle.start_ts <= self.last_emitted_ts:
            return
        current = self.forming
        if current is None or candle.start_ts == current.start_ts:
            self.forming = candle
            return
        if candle.start_ts < current.start_ts:
            return
        self._emit_closed(current)
        self.forming = candle

    def _emit_closed(self, candle: Candle) -> None:
        if self.last_emitted_ts is not None and candle.start_ts <= self.last_emitted_ts:
            return
        self.last_emitted_ts = candle.start_ts
        if self.forming is not None and self.forming.start_ts <= candle.start_ts:
            self.forming = None
        self.emit(candle)


class TickFeed(_Feed):
    """Every tick of one instrument; see the module docstring."""

    def __init__(self, instrument: str, now: Callable[[], float]) -> None:
        super().__init__(instrument, now)
        self.last_ts: float | None = None

    def request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "ticks_history": self.instrument,
            "style": "ticks",
            "end": "latest",
            "subscribe": 1,
        }
        if self.last_ts is None:
            request["count"] = 1
        else:
            request["start"] = int(self.last_ts) + 1
            request["count"] = MAX_HISTORY
        return request

    def handle(self, message: Message) -> None:
        if message.msg_type == "history":
            ticks = codec.history_ticks(message.result(), self.instrument)
            if self.last_ts is None:
                if ticks:
                    self.last_ts = ticks[-1].ts
                return
            if len(ticks) >= MAX_HISTORY:
                self.fail(Disconnected("deriv: tick gap longer than one history reply"))
                return
            for tick in ticks:
                self._emit(tick)
        elif message.msg_type == "tick":
            self._emit(codec.tick(message.result_object(), self.instrument))

    def _emit(self, tick: Tick) -> None:
        if self.last_ts is not None and tick.ts <= self.last_ts:
            return
        self.last_ts = tick.ts
        self.emit(tick)
