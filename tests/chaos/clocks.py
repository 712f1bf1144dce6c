"""A wall clock whose reading can step, on a fast-forward timeline.

What a real :class:`~moonlight.core.runtime.clock.WallClock` does when the system clock
is stepped (NTP correction, a VM resumed, the broker's server-time offset updated):
``now()`` jumps by the step, but sleepers already waiting keep the *monotonic* delay
they computed (asyncio sleeps on the monotonic clock) and then re-check ``now()`` —
which is exactly WallClock's ``sleep_until`` loop. :class:`SteppedClock` reproduces
that deterministically: ``now()`` is a :class:`FastForwardClock`'s time plus an offset
that :meth:`step` changes, and ``sleep_until`` waits the remaining delay on the
fast-forward timeline, re-checking after every wake-up.
"""

from __future__ import annotations

from moonlight.core.runtime.clock import FastForwardClock


class SteppedClock:
    """``now() = monotonic (fast-forward) time + offset``; :meth:`step` moves the offset."""

    def __init__(self, start: float) -> None:
        self.base = FastForwardClock(start)
        self.offset_s = 0.0
        self.steps: list[tuple[float, float]] = []

    def now(self) -> float:
        return self.base.now() + self.offset_s

    async def sleep_until(self, when: float) -> None:
        while (delay := when - self.now()) > 0:
            await self.base.sleep_until(self.base.now() + delay)

    def step(self, seconds: float) -> None:
        """Step the wall reading by ``seconds`` (negative: back in time)."""
        self.steps.append((self.base.now(), seconds))
        self.offset_s += seconds
