"""Client-side pacing: Deriv's documented call budgets, enforced per call class.

Deriv shares a per-minute and a per-hour budget among the calls of one class (see
:class:`~moonlight.connectors.deriv.config.DerivRateLimits`). Each class keeps a sliding
window per budget: a call may go when fewer than ``limit`` calls of its class left in the
last ``window_s`` seconds. (A token bucket of capacity ``limit`` refilled at
``limit / window`` would let a full burst plus a full refill through within one window --
up to twice the documented budget; the storm test measured 440 trading calls in a minute
against a budget of 360 before this was changed.)

**What a call's time is.** Deriv counts a call when it *receives* it, which is some time
after the client decided to send it -- under load (a busy event loop, a slow socket)
seconds after. Stamping a call when it is admitted let a call admitted at 0 s and
received at 0.5 s, and a call admitted at 60.0 s and received at once, both count in the
server's minute: 31 calls against a budget of 30 (issue 14 item 11). So a call occupies
its window from admission until it has *ended* (answered, timed out or lost: the server
cannot have received it later than its answer arrived) and is stamped at that end; a call
still in flight never leaves the window. The server's count can then only be lower than
the client's, never higher, however slow either side is.

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
    """At most ``limit`` calls in any ``window_s`` seconds (module docstring: a call is
    in flight from :meth:`open` until :meth:`close` stamps its end)."""

    limit: int
    window_s: float
    stamps: deque[float] = field(default_factory=deque)
    in_flight: int = 0

    def _prune(self, now: float) -> None:
        while self.stamps and now - self.stamps[0] >= self.window_s:
            self.stamps.popleft()

    def wait_s(self, now: float) -> float:
        """Seconds until one more call fits (``window_s`` when in-flight calls fill it)."""
        self._prune(now)
        used = len(self.stamps) + self.in_flight
        if used < self.limit:
            return 0.0
        leaving = used - self.limit  # index of the stamp whose expiry frees a place
        if leaving >= len(self.stamps):
            return self.window_s
        return self.stamps[leaving] + self.window_s - now

    def open(self) -> None:
        """One call admitted; it counts until :meth:`close`."""
        self.in_flight += 1

    def close(self, now: float, *, sent: bool = True) -> None:
        """The call ended at ``now`` (stamped there), or was never sent (not counted)."""
        self.in_flight = max(0, self.in_flight - 1)
        if sent:
            self.stamps.append(max(now, self.stamps[-1]) if self.stamps else now)

    def record(self, now: float) -> None:
        """A call that ended at ``now`` (admitted and answered at once)."""
        self.open()
        self.close(now)


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
        """Admit one call (callers check :meth:`wait_s` first); :meth:`release` ends it."""
        for window in self._windows[call_class(call)]:
            window.open()

    def release(self, call: str, *, sent: bool = True) -> None:
        """An admitted call ended now (reply, timeout, lost socket) or was never sent."""
        now = self._now()
        for window in self._windows[call_class(call)]:
            window.close(now, sent=sent)

    async def acquire(self, call: str) -> None:
        """Wait for the budget of ``call`` (at most ``max_wait_s``) and spend it.

        Every successful ``acquire`` must be followed by one :meth:`release`.
        """
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
