"""Client-side pacing: Deriv's documented call budgets, enforced per call class.

Deriv shares a per-minute and a per-hour budget among the calls of one class (see
:class:`~moonlight.connectors.deriv.config.DerivRateLimits`). Each class keeps a sliding
window per budget: a call may go when fewer than ``limit`` calls of its class left in the
last ``window_s`` seconds. (A token bucket of capacity ``limit`` refilled at
``limit / window`` would let a full burst plus a full refill through within one window --
up to twice the documented budget; the storm test measured 440 trading calls in a minute
against a budget of 360 before this was changed.)

When the budget is spent the call waits for the oldest call to leave the window if that
takes at most ``max_wait_s``; otherwise it is refused with :class:`RateLimited` *before
anything is sent*, with the exact wait as ``retry_after_s``. A server ``RateLimit``
answer blocks the class for ``retry_s`` (:meth:`RateLimiter.penalise`), so the client
slows down instead of hammering.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from moonlight.connectors.deriv.config import DerivRateLimits
from moonlight.core.connectors.contract import RateLimited

TRADING = "trading"
BALANCE = "balance"
REPORTS = "reports"
GENERAL = "general"
PING = "ping"

CALL_CLASSES: dict[str, str] = {
    "proposal": TRADING,
    "proposal_open_contract": TRADING,
    "buy": TRADING,
    "sell": TRADING,
    "balance": BALANCE,
    "statement": BALANCE,
    "portfolio": REPORTS,
    "profit_table": REPORTS,
    "ping": PING,
}


def call_class(call: str) -> str:
    """The budget class of a call name."""
    return CALL_CLASSES.get(call, GENERAL)


@dataclass
class SlidingWindow:
    """At most ``limit`` calls in any ``window_s`` seconds."""

    limit: int
    window_s: float
    stamps: deque[float] = field(default_factory=deque)

    def _prune(self, now: float) -> None:
        while self.stamps and now - self.stamps[0] >= self.window_s:
            self.stamps.popleft()

    def wait_s(self, now: float) -> float:
        """Seconds until one more call fits in the window."""
        self._prune(now)
        if len(self.stamps) < self.limit:
            return 0.0
        return self.stamps[len(self.stamps) - self.limit] + self.window_s - now

    def take(self, now: float) -> None:
        self.stamps.append(now)


class RateLimiter:
    """Sliding-window budgets per call class; see the module docstring."""

    def __init__(
        self,
        limits: DerivRateLimits,
        *,
        max_wait_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_wait_s = max_wait_s
        self._now = monotonic
        self._windows: dict[str, tuple[SlidingWindow, ...]] = {
            TRADING: (
                SlidingWindow(limits.trading_per_min, 60.0),
                SlidingWindow(limits.trading_per_hour, 3600.0),
            ),
            BALANCE: (
                SlidingWindow(limits.balance_per_min, 60.0),
                SlidingWindow(limits.balance_per_hour, 3600.0),
            ),
            REPORTS: (
                SlidingWindow(limits.reports_per_min, 60.0),
                SlidingWindow(limits.reports_per_hour, 3600.0),
            ),
            GENERAL: (
                SlidingWindow(limits.general_per_min, 60.0),
                SlidingWindow(limits.general_per_hour, 3600.0),
            ),
            PING: (SlidingWindow(limits.ping_per_s, 1.0),),
        }
        self._blocked_until: dict[str, float] = {}
        self.waited_s = 0.0
        self.refused = 0

    def wait_s(self, call: str) -> float:
        """Seconds until ``call`` could be sent (0 when it can go now)."""
        now = self._now()
        klass = call_class(call)
        blocked = self._blocked_until.get(klass, 0.0) - now
        return max(blocked, 0.0, *(w.wait_s(now) for w in self._windows[klass]))

    def take(self, call: str) -> None:
        """Record one call (callers check :meth:`wait_s` first)."""
        now = self._now()
        for window in self._windows[call_class(call)]:
            window.take(now)

    async def acquire(self, call: str) -> None:
        """Wait for the budget of ``call`` (at most ``max_wait_s``) and spend it."""
        while True:
            wait = self.wait_s(call)
            if wait <= 0.0:
                self.take(call)
                return
            if wait > self.max_wait_s:
                self.refused += 1
                raise RateLimited(wait, f"client-side budget of {call_class(call)} calls spent")
            self.waited_s += wait
            await asyncio.sleep(wait)

    def penalise(self, call: str, retry_s: float) -> float:
        """The server answered RateLimit: hold the class back; returns the wait."""
        klass = call_class(call)
        until = max(self._blocked_until.get(klass, 0.0), self._now() + retry_s)
        self._blocked_until[klass] = until
        return max(retry_s, self.wait_s(call))
