"""Deficit Round Robin: fair shares under contention, rate limit respected."""

from __future__ import annotations

import asyncio

import pytest

from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.fairness import DeficitRoundRobin

START = 1_700_000_000.0


async def _saturate(
    drr: DeficitRoundRobin, account: str, workers: int, stop: asyncio.Event
) -> None:
    async def one() -> None:
        while not stop.is_set():
            await drr.acquire(account)

    await asyncio.gather(*(one() for _ in range(workers)))


@pytest.mark.parametrize(
    ("weights", "workers"),
    [
        # every account backlogged, one of them with a burst of many more requesters
        ({"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}, {"a": 3, "b": 4, "c": 8, "d": 60}),
        ({"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 60, "b": 4, "c": 6}),
    ],
)
async def test_each_account_gets_its_weighted_share_within_5_percent(
    weights: dict[str, float], workers: dict[str, int]
) -> None:
    clock = FastForwardClock(START)
    drr = DeficitRoundRobin(clock, rate_per_s=50, burst=5, weights=weights)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_saturate(drr, account, workers[account], stop)) for account in weights
    ]
    await clock.sleep_until(START + 120)  # two simulated minutes of contention
    stop.set()
    total = sum(drr.admitted(a) for a in weights)
    # the token bucket holds the aggregate rate: 50/s for 120 s plus the burst
    assert 0.97 * 6000 <= total <= 6000 + 5 + len(weights)
    weight_sum = sum(weights.values())
    for account, weight in weights.items():
        share = drr.admitted(account) / total
        expected = weight / weight_sum
        assert abs(share - expected) <= 0.05 * expected, (account, share, expected)
    await drr.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_idle_account_is_admitted_at_once_despite_a_busy_one() -> None:
    clock = FastForwardClock(START)
    drr = DeficitRoundRobin(clock, rate_per_s=10, burst=1)
    stop = asyncio.Event()
    busy = asyncio.create_task(_saturate(drr, "busy", 50, stop))
    await clock.sleep_until(START + 10)
    before = clock.now()
    await drr.acquire("quiet")
    # one round: at most one busy request (one token, 0.1 s) goes before it
    assert clock.now() - before <= 0.2 + 1e-4  # epoch-second float resolution
    stop.set()
    await drr.close()
    busy.cancel()
    await asyncio.gather(busy, return_exceptions=True)


async def test_invalid_parameters_are_refused() -> None:
    clock = FastForwardClock(START)
    with pytest.raises(ValueError):
        DeficitRoundRobin(clock, rate_per_s=0, burst=1)
    drr = DeficitRoundRobin(clock, rate_per_s=1, burst=2)
    with pytest.raises(ValueError):
        await drr.acquire("a", cost=3)
