"""Clocks: the same engine code runs on wall time, accelerated time and fast-forward.

All times are float seconds since the Unix epoch, UTC. A clock only tells the time and
sleeps; bar alignment lives in :func:`next_bar_close`.

* :class:`WallClock` -- real time, optionally shifted by the broker's server-time offset.
* :class:`ScaledClock` -- simulated time running ``speed`` times faster than real time
  (``moonlight run --speed 60`` makes a minute pass every second).
* :class:`FastForwardClock` -- deterministic discrete-event time for backtests: when every
  sleeper is waiting, time jumps straight to the earliest wake-up.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from typing import Protocol


class Clock(Protocol):
    """What the engine needs from time."""

    def now(self) -> float:
        """Current time, epoch seconds UTC."""

    async def sleep_until(self, when: float) -> None:
        """Return once ``now() >= when``."""


def next_bar_close(now: float, timeframe_s: int) -> float:
    """The first bar boundary strictly after ``now`` (bars aligned to the epoch)."""
    return (math.floor(now / timeframe_s) + 1) * timeframe_s


class WallClock:
    """Real time; ``offset_s`` is added (broker server time minus local time)."""

    def __init__(self, offset_s: float = 0.0) -> None:
        self.offset_s = offset_s

    def now(self) -> float:
        return time.time() + self.offset_s

    async def sleep_until(self, when: float) -> None:
        while (delay := when - self.now()) > 0:
            await asyncio.sleep(delay)


class ScaledClock:
    """Simulated time starting at ``start`` and running ``speed`` times real time."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = start
        self._real_start = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._real_start) * self.speed

    async def sleep_until(self, when: float) -> None:
        while (delay := when - self.now()) > 0:
            await asyncio.sleep(delay / self.speed)


class FastForwardClock:
    """Discrete-event time: sleepers wake in time order, as fast as the CPU allows.

    Time advances only when every task sleeping on this clock is waiting and the event
    loop has nothing else ready: a background driver task yields to the loop a few
    times, then jumps to the earliest wake-up. Deterministic for a given program.
    """

    def __init__(self, start: float) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self._now

    async def sleep_until(self, when: float) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._order), future))
        self._ensure_driver()
        await future

    def advance_to(self, when: float) -> None:
        """Move time forward (never back) and wake everyone due by then."""
        self._now = max(self._now, when)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    def _ensure_driver(self) -> None:
        if self._driver is None or self._driver.done():
            self._driver = asyncio.get_running_loop().create_task(self._drive())

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while self._sleepers:
            await _until_idle(loop)
            while self._sleepers and self._sleepers[0][2].done():  # cancelled sleepers
                heapq.heappop(self._sleepers)
            if self._sleepers:
                self.advance_to(self._sleepers[0][0])


async def _until_idle(loop: asyncio.AbstractEventLoop, max_rounds: int = 10_000) -> None:
    """Yield until no other callback is ready to run (the loop would otherwise block).

    CPython's event loops keep ready callbacks in ``_ready``; where that is not
    available, a fixed number of yields approximates idleness.
    """
    ready = getattr(loop, "_ready", None)
    for _ in range(max_rounds if ready is not None else 64):
        await asyncio.sleep(0)
        if ready is not None and not ready:
            return


class BrokerClock:
    """The engine's clock shifted to one broker's server time.

    ``offset_s`` (broker minus local) is measured from the connector's ``server_time()``
    at start-up and refreshed while running, so the workers of that broker's accounts
    align bars to the broker's bar closes even when the host's clock is off.
    """

    def __init__(self, base: Clock, offset_s: float = 0.0) -> None:
        self.base = base
        self.offset_s = offset_s

    def now(self) -> float:
        return self.base.now() + self.offset_s

    async def sleep_until(self, when: float) -> None:
        # Re-checked after every wake-up: the offset may be corrected while sleeping.
        while when - self.now() > 0:
            await self.base.sleep_until(when - self.offset_s)
