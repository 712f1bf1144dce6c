"""Keep CPython's cyclic garbage collector out of bar closes.

A full collection of a running engine takes tens to hundreds of milliseconds; left to
its allocation thresholds, CPython starts one whenever they trip -- often in the middle
of a synchronised bar close, where every worker decides at once, which is where the
close → decision latency spikes came from. :class:`CollectorPacer` instead

1. collects once and calls :func:`gc.freeze` after start-up (the first quiet point):
   everything alive then -- modules, plugins, configuration, warmed-up indicator state
   -- moves to the permanent generation and is never scanned again;
2. turns automatic collection off and collects itself at quiet points *between*
   instants: half-way between two bar closes of the finest grid every worker's
   timeframe sits on, at least every :data:`MAX_PACE_S` seconds. No quiet point is ever
   a bar close, so no collection runs while workers decide.

Reference counting still frees everything that is not in a cycle at once; only cyclic
garbage waits for the next quiet point. On exit (the engine stops, the task is
cancelled) automatic collection is switched back on and the frozen objects are
released to the collector again.
"""

from __future__ import annotations

import gc
import logging
import math
from collections.abc import Iterable

from moonlight.core.runtime.clock import Clock

log = logging.getLogger("moonlight.collector")

#: Longest wait between two collections, seconds (bounds the cyclic garbage held).
MAX_PACE_S = 30.0


def quiet_pace_s(timeframes_s: Iterable[int]) -> float:
    """Spacing of the quiet points for workers on ``timeframes_s``.

    Every bar close falls on a multiple of the timeframes' greatest common divisor;
    that grid is divided evenly until its step is at most :data:`MAX_PACE_S`, so bar
    closes stay on multiples of the returned pace and the half-way points miss them.
    """
    grid = math.gcd(*(int(t) for t in timeframes_s)) or 60
    steps = max(1, math.ceil(grid / MAX_PACE_S))
    return grid / steps


class CollectorPacer:
    """Collect at quiet points between instants (see the module docstring)."""

    def __init__(self, clock: Clock, timeframes_s: Iterable[int]) -> None:
        self.clock = clock
        self.pace_s = quiet_pace_s(timeframes_s)
        self.collections = 0
        self.frozen = 0

    def next_quiet_point(self, now: float) -> float:
        """The first half-way point strictly after ``now``."""
        half = self.pace_s / 2.0
        return (math.floor((now - half) / self.pace_s) + 1) * self.pace_s + half

    def collect(self) -> None:
        """One full collection; the first also freezes what survived start-up."""
        gc.collect()
        if not self.collections:
            gc.freeze()
            self.frozen = gc.get_freeze_count()
            log.info("start-up heap frozen: %d objects out of the collector's sight", self.frozen)
        self.collections += 1

    async def run(self) -> None:
        """Collect at every quiet point until cancelled; then restore the defaults."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            while True:
                await self.clock.sleep_until(self.next_quiet_point(self.clock.now()))
                self.collect()
        finally:
            gc.unfreeze()
            if was_enabled:
                gc.enable()
