"""Deficit Round Robin admission of connector requests, under a shared rate limit.

Every request an account's workers make to a connector (candles, orders, status) asks
:meth:`DeficitRoundRobin.acquire` first. Requests wait in one queue per account; the
dispatcher visits accounts in turn, adds ``quantum × weight`` to the account's deficit
and admits its queued requests while the deficit covers their cost. A token bucket
(``rate_per_s``, ``burst``) caps the total, so a burst of bar closes on one account
cannot starve another: under contention each account's share of admissions tends to
its weight's share (Shreedhar & Varghese, "Efficient fair queuing using deficit
round-robin", 1995).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field

from moonlight.core.runtime.clock import Clock

_EPSILON = 1e-9


@dataclass
class _AccountQueue:
    weight: float
    deficit: float = 0.0
    waiting: deque[tuple[float, asyncio.Future[None]]] = field(default_factory=deque)
    admitted: int = 0


class DeficitRoundRobin:
    """Fair, rate-limited admission of requests across accounts."""

    def __init__(
        self,
        clock: Clock,
        *,
        rate_per_s: float,
        burst: float,
        quantum: float = 1.0,
        weights: dict[str, float] | None = None,
    ) -> None:
        if rate_per_s <= 0 or burst < 1 or quantum <= 0:
            raise ValueError("rate_per_s and quantum must be positive and burst >= 1")
        self._clock = clock
        self._rate = rate_per_s
        self._burst = burst
        self._quantum = quantum
        self._weights = dict(weights or {})
        self._queues: dict[str, _AccountQueue] = {}
        self._active: deque[str] = deque()
        self._scheduled: set[str] = set()
        self._tokens = burst
        self._refilled_at = clock.now()
        self._wakeup = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None

    def admitted(self, account: str) -> int:
        """How many requests of ``account`` were admitted so far."""
        queue = self._queues.get(account)
        return queue.admitted if queue else 0

    async def acquire(self, account: str, cost: float = 1.0) -> None:
        """Wait until ``account`` may send a request costing ``cost`` tokens."""
        if cost <= 0 or cost > self._burst:
            raise ValueError(f"cost must be in (0, burst={self._burst}]")
        queue = self._queues.get(account)
        if queue is None:
            queue = self._queues[account] = _AccountQueue(self._weights.get(account, 1.0))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.waiting.append((cost, future))
        if account not in self._scheduled:  # queued for a visit, or being served now
            self._scheduled.add(account)
            self._active.append(account)
        self._wakeup.set()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())
        try:
            await future
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()  # the dispatcher skips cancelled entries
            raise

    async def close(self) -> None:
        """Stop the dispatcher; waiting requests are cancelled."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        for queue in self._queues.values():
            for _, future in queue.waiting:
                future.cancel()
            queue.waiting.clear()

    def _refill(self) -> None:
        now = self._clock.now()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled_at) * self._rate)
        self._refilled_at = now

    async def _take(self, cost: float) -> None:
        self._refill()
        while self._tokens < cost - _EPSILON:  # tolerance: refills are float arithmetic
            wake = self._refilled_at + (cost - self._tokens) / self._rate
            # Epoch seconds near 1.7e9 have a 2.4e-7 s resolution: always move forward.
            await self._clock.sleep_until(max(wake, math.nextafter(self._refilled_at, math.inf)))
            self._refill()
        self._tokens = max(0.0, self._tokens - cost)

    async def _dispatch(self) -> None:
        while True:
            if not self._active:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            account = self._active.popleft()
            queue = self._queues[account]
            queue.deficit += self._quantum * queue.weight
            while queue.waiting:
                cost, future = queue.waiting[0]
                if future.done():  # cancelled by its requester
                    queue.waiting.popleft()
                    continue
                if cost > queue.deficit:
                    break
                await self._take(cost)
                queue.waiting.popleft()
                if not future.done():
                    future.set_result(None)
                    queue.admitted += 1
                queue.deficit -= cost
            if queue.waiting:
                self._active.append(account)
            else:
                queue.deficit = 0.0
                self._scheduled.discard(account)
