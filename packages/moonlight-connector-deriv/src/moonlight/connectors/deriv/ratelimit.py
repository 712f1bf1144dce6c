"""Client-side pacing: Deriv's documented call budgets as token buckets per call class.

Deriv shares a per-minute and a per-hour budget among the calls of one class (see
:class:`~moonlight.connectors.deriv.config.DerivRateLimits`). Each class has two token
buckets; a call takes one token from both. When a bucket is empty the call waits for
the refill if that takes at most ``max_wait_s``, otherwise it is refused with
:class:`RateLimited` *before anything is sent*, carrying the exact wait as
``retry_after_s``. A server ``RateLimit`` answer empties the class's minute bucket
(:meth:`RateLimiter.penalise`) so the client slows down instead of hammering.
"""

from __future__ import annotations

import asyncio
import time
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
class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``capacity / window_s`` per second."""

    capacity: float
    window_s: float
    tokens: float = field(init=False)
    stamp: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    @property
    def rate_per_s(self) -> float:
        return self.capacity / self.window_s

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate_per_s)
        self.stamp = max(self.stamp, now)

    def wait_s(self, now: float) -> float:
        """Seconds until one token is available."""
        self.refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate_per_s


class RateLimiter:
    """Token buckets per call class; see the module docstring."""

    def __init__(
        self,
        limits: DerivRateLimits,
        *,
        max_wait_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_wait_s = max_wait_s
        self._now = monotonic
        self._buckets: dict[str, tuple[TokenBucket, ...]] = {
            TRADING: (
                TokenBucket(limits.trading_per_min, 60.0),
                TokenBucket(limits.trading_per_hour, 3600.0),
            ),
            BALANCE: (
                TokenBucket(limits.balance_per_min, 60.0),
                TokenBucket(limits.balance_per_hour, 3600.0),
            ),
            REPORTS: (
                TokenBucket(limits.reports_per_min, 60.0),
                TokenBucket(limits.reports_per_hour, 3600.0),
            ),
            GENERAL: (
                TokenBucket(limits.general_per_min, 60.0),
                TokenBucket(limits.general_per_hour, 3600.0),
            ),
            PING: (TokenBucket(limits.ping_per_s, 1.0),),
        }
        for buckets in self._buckets.values():
            for bucket in buckets:
                bucket.stamp = self._now()
        self.waited_s = 0.0
        self.refused = 0

    def wait_s(self, call: str) -> float:
        """Seconds until ``call`` could be sent (0 when it can go now)."""
        now = self._now()
        return max(bucket.wait_s(now) for bucket in self._buckets[call_class(call)])

    def take(self, call: str) -> None:
        """Spend one token for ``call`` (callers check :meth:`wait_s` first)."""
        now = self._now()
        for bucket in self._buckets[call_class(call)]:
            bucket.refill(now)
            bucket.tokens -= 1.0

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

    def penalise(self, call: str) -> float:
        """The server said RateLimit: empty the class's short bucket; returns its refill time."""
        now = self._now()
        buckets = self._buckets[call_class(call)]
        for bucket in buckets:
            bucket.refill(now)
        buckets[0].tokens = min(buckets[0].tokens, 0.0)
        return self.wait_s(call)
