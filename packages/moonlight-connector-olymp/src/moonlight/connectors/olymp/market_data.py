"""Ticks, candle history and live candles over the Olymp session.

* **Ticks** — e:12 ``[{pair}]`` subscribes a pair (falling back to e:280 when the server
  answers ``err``, as O3 does); e:1 pushes ``{p, t, q}``. Broker-side subscriptions are
  reference-counted over every tick and candle stream of a pair, spaced by
  ``subscribe_interval_s``, and renewed after every reconnect. A tick stream ends with
  :class:`Disconnected` when the socket drops (ticks in the gap are gone).
* **History** — e:10 ``[{pair, size, to, solid: true}]``; the reply (e:10 or e:1003,
  matched by uuid, or by pair when it comes without one) is a batch ending at ``to``,
  so older bars are fetched by stepping ``to`` back. Whether "ending at ``to``" counts
  bars that *closed* by ``to`` or bars that *started* by it is not documented (brief
  4.4), so the next page asks for ``to`` = the oldest bar's start: the bar closing
  there is included either way (stepping one second earlier dropped it when the server
  counts closed bars: one bar lost at every page boundary). When a page's oldest bar
  starts exactly at ``to`` (the server counts started bars), ``to`` steps one second
  back instead, so ``to`` always decreases. Bars are keyed by start time, so overlaps
  are never returned twice. Only closed bars are returned.
* **Live candles** — built from ticks (:class:`~.bars.BarBuilder`); every bar the
  builder did not see from its start (subscription start, reconnect gap, quiet market)
  is back-filled from e:10 before later bars are emitted. A candle stream therefore
  survives reconnects without a gap and always emits bars in time order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from typing import Any

from moonlight.connectors.olymp.bars import BarBuilder
from moonlight.connectors.olymp.config import OlympConfig
from moonlight.connectors.olymp.payloads import BarData, TickData, parse_candles
from moonlight.connectors.olymp.protocol import Event, Message
from moonlight.connectors.olymp.session import OlympSession
from moonlight.core.connectors.contract import Candle, Disconnected, Rejected, Tick, Transient
from moonlight.core.connectors.streams import Subscription

log = logging.getLogger("moonlight.connectors.olymp")

CandleKey = tuple[str, int]


def _next_to(to: int, oldest_start: int) -> int:
    """The ``to`` of the page before one asked at ``to`` whose oldest bar starts at
    ``oldest_start``: that start (overlap), or one second earlier when the page already
    ended there (the server counts bars started by ``to``); always earlier than ``to``."""
    return oldest_start if oldest_start < to else to - 1


def _candle(bar: BarData, timeframe_s: int) -> Candle:
    return Candle(
        instrument=bar.pair,
        timeframe_s=timeframe_s,
        start_ts=bar.start_ts,
        open=bar.open,
        high=bar.high,
        low=bar.low,
        close=bar.close,
        volume=bar.volume,
    )


class MarketData:
    """Tick and candle streams plus candle history of one session."""

    def __init__(self, config: OlympConfig, session: OlympSession) -> None:
        self.config = config
        self.session = session
        self._tick_subs: dict[str, list[Subscription[Tick]]] = {}
        self._candle_subs: dict[CandleKey, list[Subscription[Candle]]] = {}
        self._builders: dict[CandleKey, BarBuilder] = {}
        self._candle_tasks: dict[CandleKey, asyncio.Task[None]] = {}
        self._subscribed: set[str] = set()
        self._subscribing: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    # -- public streams ---------------------------------------------------------------

    def subscribe_ticks(self, pair: str) -> AsyncIterator[Tick]:
        group = self._tick_subs.setdefault(pair, [])
        sub: Subscription[Tick] = Subscription(on_close=lambda s: self._drop_tick_sub(pair, s))
        if self._closed or not self.session.ready:
            sub.fail(Disconnected("olymp session is not ready"))
            return sub
        group.append(sub)
        self._ensure_pair(pair)
        return sub

    def subscribe_candles(self, pair: str, timeframe_s: int) -> AsyncIterator[Candle]:
        if timeframe_s <= 0:
            raise ValueError("timeframe_s must be positive")
        key = (pair, timeframe_s)
        sub: Subscription[Candle] = Subscription(on_close=lambda s: self._drop_candle_sub(key, s))
        if self._closed:
            sub.fail(Disconnected("olymp connector is closed"))
            return sub
        self._candle_subs.setdefault(key, []).append(sub)
        if key not in self._builders:
            self._builders[key] = BarBuilder(pair, timeframe_s)
        task = self._candle_tasks.get(key)
        if task is None or task.done():
            self._candle_tasks[key] = asyncio.get_running_loop().create_task(self._run_candles(key))
        self._ensure_pair(pair)
        return sub

    async def candles(
        self, pair: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> list[Candle]:
        """Up to ``count`` closed bars ending at or before ``end_ts``, oldest first."""
        if count <= 0:
            return []
        await self.session.wait_ready(self.config.ready_timeout_s)
        end = (
            min(end_ts, self.session.server_now())
            if end_ts is not None
            else self.session.server_now()
        )
        found: dict[float, BarData] = {}
        to = math.floor(end)
        for _ in range(self.config.candle_max_pages):
            bars = await self.fetch(pair, timeframe_s, to)
            for bar in bars:
                if bar.start_ts + timeframe_s <= end:
                    found.setdefault(bar.start_ts, bar)
            if not bars or len(found) >= count:
                break
            to = _next_to(to, math.floor(min(bar.start_ts for bar in bars)))
        ordered = [found[start] for start in sorted(found)][-count:]
        return [_candle(bar, timeframe_s) for bar in ordered]

    async def fetch(self, pair: str, timeframe_s: int, to_ts: int) -> list[BarData]:
        """One e:10 batch of ``pair`` ending at ``to_ts`` (closed and forming bars)."""

        def same_pair(message: Message) -> bool:
            return message.e in (Event.CANDLES, Event.CANDLES_REPLY) and any(
                bar.pair == pair for bar in parse_candles(message.d)
            )

        reply = await self.session.request(
            Event.CANDLES,
            [{"pair": pair, "size": timeframe_s, "to": math.floor(to_ts), "solid": True}],
            timeout_s=self.config.request_timeout_s,
            match=same_pair,
        )
        if reply.err is not None:
            raise Transient(f"candles of {pair}: server error {reply.err!r}")
        if reply.e not in (Event.CANDLES, Event.CANDLES_REPLY):
            log.warning("olymp: candle request answered with e:%s; read as candles", reply.e)
        return [bar for bar in parse_candles(reply.d) if bar.pair == pair]

    # -- session events ---------------------------------------------------------------

    def on_tick(self, tick: TickData) -> None:
        """Route one e:1 tick to its streams and bar builders."""
        subs = self._tick_subs.get(tick.pair)
        if subs:
            item = Tick(tick.pair, tick.ts, tick.price)
            for sub in list(subs):
                sub.put(item)
        for (pair, _), builder in self._builders.items():
            if pair == tick.pair:
                builder.add(tick)

    async def resubscribe(self) -> None:
        """After a (re)connect: subscribe every pair a stream needs (spaced)."""
        self._subscribed.clear()
        for pair in sorted(self._wanted_pairs()):
            await self._subscribe_pair(pair)

    def on_lost(self) -> None:
        """The socket dropped: tick streams end, bar builders note the gap."""
        self._subscribed.clear()
        for task in self._subscribing.values():
            task.cancel()
        self._subscribing.clear()
        for subs in list(self._tick_subs.values()):
            for sub in list(subs):
                sub.fail(Disconnected("olymp connection lost"))
        self._tick_subs.clear()
        for builder in self._builders.values():
            builder.gap()

    async def close(self) -> None:
        """End every stream and stop the candle tasks."""
        self._closed = True
        tasks = [*self._candle_tasks.values(), *self._subscribing.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._candle_tasks.clear()
        self._subscribing.clear()
        for tick_group in self._tick_subs.values():
            for tick_sub in list(tick_group):
                tick_sub.end()
        for candle_group in self._candle_subs.values():
            for candle_sub in list(candle_group):
                candle_sub.end()
        self._tick_subs.clear()
        self._candle_subs.clear()

    # -- broker-side subscriptions ----------------------------------------------------

    def _wanted_pairs(self) -> set[str]:
        pairs = {pair for pair, subs in self._tick_subs.items() if subs}
        pairs.update(pair for (pair, _), subs in self._candle_subs.items() if subs)
        return pairs

    def _ensure_pair(self, pair: str) -> None:
        if pair in self._subscribed or pair in self._subscribing or not self.session.ready:
            return
        task = asyncio.get_running_loop().create_task(self._subscribe_pair(pair))
        self._subscribing[pair] = task
        task.add_done_callback(lambda _: self._subscribing.pop(pair, None))

    async def _subscribe_pair(self, pair: str) -> None:
        for event in (Event.TICKS_SUBSCRIBE, Event.TICKS_SUBSCRIBE_ALT):
            await self.session.subscription_slot()
            reply = await self.session.request(
                event, [{"pair": pair}], timeout_s=self.config.request_timeout_s
            )
            if reply.err is None:
                self._subscribed.add(pair)
                for (builder_pair, _), builder in self._builders.items():
                    if builder_pair == pair:
                        builder.begin()
                return
            log.warning("olymp: e:%d for %s answered %r", event, pair, reply.err)
        error = Rejected(f"olymp refused tick subscription of {pair}")
        for sub in list(self._tick_subs.get(pair, [])):
            sub.fail(error)

    def _release_pair(self, pair: str) -> None:
        if pair in self._wanted_pairs() or pair not in self._subscribed:
            return
        self._subscribed.discard(pair)
        if self.session.ready and not self._closed:
            task = asyncio.get_running_loop().create_task(self._unsubscribe(pair))
            self._subscribing[f"-{pair}"] = task
            task.add_done_callback(lambda _: self._subscribing.pop(f"-{pair}", None))

    async def _unsubscribe(self, pair: str) -> None:
        with contextlib.suppress(Disconnected, Transient):
            await self.session.subscription_slot()
            await self.session.request(
                Event.TICKS_UNSUBSCRIBE, [{"pair": pair}], timeout_s=self.config.request_timeout_s
            )

    def _drop_tick_sub(self, pair: str, sub: Subscription[Tick]) -> None:
        group = self._tick_subs.get(pair)
        if group is not None and sub in group:
            group.remove(sub)
        self._release_later(pair)

    def _drop_candle_sub(self, key: CandleKey, sub: Subscription[Candle]) -> None:
        group = self._candle_subs.get(key)
        if group is not None and sub in group:
            group.remove(sub)
        if not self._candle_subs.get(key):
            task = self._candle_tasks.pop(key, None)
            if task is not None:
                task.cancel()
            self._builders.pop(key, None)
        self._release_later(key[0])

    def _release_later(self, pair: str) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop at interpreter exit
            asyncio.get_running_loop().call_soon(self._release_pair, pair)

    # -- live candles -----------------------------------------------------------------

    async def _run_candles(self, key: CandleKey) -> None:
        pair, timeframe_s = key
        last_end: float | None = None
        while self._candle_subs.get(key):
            now = self.session.server_now()
            boundary = math.floor(now / timeframe_s) * timeframe_s
            if last_end is None:
                last_end = float(boundary)
            if boundary > last_end and now >= boundary + self.config.close_grace_s:
                try:
                    bars = await self._due_bars(key, last_end, float(boundary))
                except (Disconnected, Transient) as error:
                    log.info(
                        "olymp: candles of %s %ds wait for the session: %s",
                        pair,
                        timeframe_s,
                        error,
                    )
                    with contextlib.suppress(Disconnected, Transient):
                        await self.session.wait_ready(self.config.ready_timeout_s)
                    await asyncio.sleep(min(1.0, timeframe_s))
                    continue
                for candle in bars:
                    for sub in list(self._candle_subs.get(key, [])):
                        sub.put(candle)
                last_end = float(boundary)
                continue
            next_end = boundary if boundary > last_end else last_end + timeframe_s
            wake = next_end + self.config.close_grace_s
            await asyncio.sleep(max(0.01, wake - self.session.server_now()))

    async def _due_bars(self, key: CandleKey, after_ts: float, until_ts: float) -> list[Candle]:
        """Closed bars starting in ``[after_ts, until_ts)``: built ones, else back-filled."""
        pair, timeframe_s = key
        builder = self._builders.get(key)
        if builder is not None:
            builder.close_due(self.session.server_now())
        starts = [
            after_ts + i * timeframe_s for i in range(int((until_ts - after_ts) // timeframe_s))
        ]
        built: dict[float, Candle] = {}
        if builder is not None:
            for start in starts:
                candle = builder.get(start)
                if candle is not None:
                    built[start] = candle
        missing = [s for s in starts if s not in built]
        if missing:
            history = await self.candles(pair, timeframe_s, count=len(starts), end_ts=until_ts)
            for candle in history:
                if candle.start_ts in missing:
                    built[candle.start_ts] = candle
        if builder is not None:
            builder.forget_before(until_ts)
        return [built[start] for start in sorted(built)]

    def stats(self) -> dict[str, Any]:
        """What is subscribed, for status reports."""
        return {
            "pairs": sorted(self._subscribed),
            "tick_streams": sum(len(v) for v in self._tick_subs.values()),
            "candle_streams": sum(len(v) for v in self._candle_subs.values()),
        }
