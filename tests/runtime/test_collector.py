"""CollectorPacer: collections only at quiet points, never at a bar close; gc restored."""

from __future__ import annotations

import asyncio
import gc
import math

from hypothesis import given, settings, strategies as st

from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.collector import MAX_PACE_S, CollectorPacer, quiet_pace_s

TIMEFRAMES = st.lists(st.sampled_from([5, 15, 30, 60, 120, 300, 900, 3600, 14_400, 86_400]),
                      min_size=1, max_size=5)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(timeframes=TIMEFRAMES, now=st.floats(1.6e9, 1.9e9, allow_nan=False))
def test_quiet_points_are_never_bar_closes_and_come_often_enough(
    timeframes: list[int], now: float
) -> None:
    pacer = CollectorPacer(FastForwardClock(now), timeframes)
    assert 0 < pacer.pace_s <= MAX_PACE_S
    point = pacer.next_quiet_point(now)
    assert now < point <= now + pacer.pace_s + 1e-6
    for timeframe in timeframes:
        offset = math.remainder(point, timeframe)
        # at least half a pace away from every bar close of every worker
        assert abs(offset) >= pacer.pace_s / 2 - 1e-6
    assert quiet_pace_s(timeframes) == pacer.pace_s


async def test_run_freezes_once_collects_at_quiet_points_and_restores_the_collector() -> None:
    assert gc.isenabled()
    clock = FastForwardClock(1_800_000_000.0)
    pacer = CollectorPacer(clock, [60, 300])
    assert pacer.pace_s == 30.0
    task = asyncio.create_task(pacer.run())
    await asyncio.sleep(0)
    assert not gc.isenabled(), "automatic collection is off while the engine runs"
    for quiet in (1_800_000_015.0, 1_800_000_045.0, 1_800_000_075.0):
        clock.advance_to(quiet - 1)
        await asyncio.sleep(0)
        collected = pacer.collections
        clock.advance_to(quiet)
        for _ in range(5):
            await asyncio.sleep(0)
        assert pacer.collections == collected + 1
    assert pacer.frozen > 0 and gc.get_freeze_count() > 0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert gc.isenabled() and gc.get_freeze_count() == 0
