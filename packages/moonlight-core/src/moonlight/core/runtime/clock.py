"""Clocks: the same engine code runs on wall time, accelerated time and fast-forward.

All times are float seconds since the Unix epoch, UTC. A clock only tells the time and
sleeps; bar alignment lives in :func:`next_bar_close`.

* :class:`WallClock` -- real time, optionally shifted by a fixed offset.
* :class:`SteadyWallClock` -- real time that never steps (monotonic, anchored once).
* :class:`ScaledClock` -- simulated time running ``speed`` times faster than real time
  (``moonlight run --speed 60`` makes a minute pass every second).
* :class:`FastForwardClock` -- deterministic discrete-event time for backtests: when every
  sleeper is waiting, time jumps straight to the earliest wake-up.
* :class:`BrokerClock` -- one of those, shifted to a broker's server time by a
  :class:`SlewedOffset` that changes only at a bounded rate.
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

    def idle_until(self, when: float) -> bool:
        """True when nothing can happen before ``when``: no sleeper wakes by then and the
        event loop has no callback ready but this clock's own driver (waiting for the
        loop to go idle), so :meth:`advance_to` may jump there at once -- what
        :meth:`sleep_until` would do, without the round trips through the loop."""
        sleepers = self._sleepers
        while sleepers and sleepers[0][2].done():  # cancelled sleepers
            heapq.heappop(sleepers)
        if sleepers and sleepers[0][0] <= when:
            return False
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        if ready is None:
            return False
        driver = self._driver
        return all(getattr(handle._callback, "__self__", None) is driver for handle in ready)

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


class SteadyWallClock:
    """Wall time that never steps: the monotonic clock, anchored to the wall clock once.

    An NTP step or a resumed VM moves ``time.time()`` but not this clock, so a broker
    clock built on it (:class:`BrokerClock`) only ever changes through its measured,
    slewed offset. ``offset_s`` is added like :class:`WallClock`'s.
    """

    def __init__(self, offset_s: float = 0.0) -> None:
        self.offset_s = offset_s
        self._anchor = time.time() - time.monotonic()

    def now(self) -> float:
        return time.monotonic() + self._anchor + self.offset_s

    async def sleep_until(self, when: float) -> None:
        while (delay := when - self.now()) > 0:
            await asyncio.sleep(delay)


def steady(clock: Clock) -> Clock:
    """``clock`` itself, except that a :class:`WallClock` becomes a :class:`SteadyWallClock`
    (simulated clocks never step unless a test steps them on purpose)."""
    if isinstance(clock, WallClock):
        return SteadyWallClock(clock.offset_s)
    return clock


class SlewedOffset:
    """Broker time minus local time, changed only by slewing at a bounded rate.

    :meth:`at` is the offset in force at local time ``t``. :meth:`slew_to` moves it toward
    a new target at most ``max_rate`` seconds per second (0.005: a 1 s correction takes
    200 s, and a 1-minute bar is never shortened or stretched by more than 0.3 s), so the
    broker clock never jumps and never runs backwards. :meth:`step` sets it at once; the
    engine does that only once, at start-up, before any worker runs.
    """

    def __init__(self, value: float = 0.0, *, max_rate: float = 0.005) -> None:
        if not 0.0 < max_rate < 1.0:
            raise ValueError("max_rate must be between 0 and 1 (seconds per second)")
        self.max_rate = max_rate
        self._from_t = 0.0
        self._from_value = value
        self._target = value
        self._velocity = 0.0  # seconds of offset per second while slewing, else 0
        self._until_t = 0.0

    @property
    def target(self) -> float:
        """Where the offset is heading (equal to the offset once the slew is over)."""
        return self._target

    def at(self, t: float) -> float:
        """The offset in force at local time ``t``."""
        if self._velocity == 0.0 or t >= self._until_t:
            return self._target
        return self._from_value + self._velocity * max(0.0, t - self._from_t)

    def step(self, value: float) -> None:
        """Set the offset at once (start-up only: the broker clock jumps)."""
        self._from_value = self._target = value
        self._velocity = 0.0

    def slew_to(self, target: float, t: float) -> None:
        """From local time ``t`` on, move toward ``target`` at ``max_rate``."""
        current = self.at(t)
        self._from_t, self._from_value, self._target = t, current, target
        gap = target - current
        if gap == 0.0:
            self._velocity = 0.0
            return
        self._velocity = math.copysign(self.max_rate, gap)
        self._until_t = t + abs(gap) / self.max_rate

    def local_time_for(self, broker_ts: float, t: float) -> float:
        """The local time at which broker time reaches ``broker_ts`` (from ``t`` on,
        if the offset is not retargeted meanwhile); never earlier than ``t``."""
        if self._velocity != 0.0 and t < self._until_t:
            end = self._until_t + self._target  # broker time when the slew ends
            if broker_ts < end:
                now = t + self.at(t)
                return max(t, t + (broker_ts - now) / (1.0 + self._velocity))
        return max(t, broker_ts - self._target)


class BrokerClock:
    """The engine's clock shifted to one broker's server time.

    ``now() = base.now() + offset.at(base.now())`` where the offset (broker minus local)
    is measured from the connector's ``server_time()`` pings and slewed, never stepped,
    while running (:mod:`moonlight.core.runtime.server_time`). The base is made
    :func:`steady`, so a step of the host's wall clock does not move the broker clock
    either: the workers of that broker's accounts align bars to the broker's bar closes,
    and the time between two readings is always real elapsed time, give or take the slew.
    """

    def __init__(self, base: Clock, offset: SlewedOffset | None = None) -> None:
        self.base = steady(base)
        self.offset = offset or SlewedOffset()

    @property
    def offset_s(self) -> float:
        """The offset in force now, seconds (broker minus local)."""
        return self.offset.at(self.base.now())

    def now(self) -> float:
        t = self.base.now()
        return t + self.offset.at(t)

    async def sleep_until(self, when: float) -> None:
        # Re-checked after every wake-up: the offset may be retargeted while sleeping.
        while (t := self.base.now()) + self.offset.at(t) < when:
            local = self.offset.local_time_for(when, t)
            # Rounding may land a hair short of ``when``: always move time on.
            await self.base.sleep_until(max(local, t + _MIN_SLEEP_S))


#: The shortest sleep :class:`BrokerClock` asks of its base (rounding guard), seconds.
_MIN_SLEEP_S = 1e-6
