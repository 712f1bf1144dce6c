"""Capped exponential backoff with jitter that honours a broker's Retry-After.

``delay = min(cap, base × factor^attempt)``, then "equal jitter" removes a random part of
up to ``jitter`` of it (so many clients do not retry in lock-step), and the result is
never shorter than the broker's Retry-After: a 429 says when to come back, and coming
back earlier only extends the ban.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Backoff policy; ``attempt`` counts from 0 for the first retry."""

    base_s: float = 0.25
    factor: float = 2.0
    cap_s: float = 8.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s or self.factor < 1:
            raise ValueError("need 0 < base_s <= cap_s and factor >= 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be within [0, 1]")

    def delay_s(
        self, attempt: int, rng: random.Random, retry_after_s: float | None = None
    ) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        raw = min(self.cap_s, self.base_s * self.factor ** max(0, attempt))
        delay = raw * (1.0 - self.jitter * rng.random())
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        return delay
