"""Broker clock sync against fake broker clocks that drift, jump, run fast and misbehave.

Every test drives time itself (a :class:`FastForwardClock`): no sleep on the wall clock.
A fake broker answers ``server_time()`` after half a round trip with its own clock read
at that instant, then the other half of the round trip passes, as on a real wire. Its
clock is a function of the true (local) time, written from what a broker's clock may do:
sit at an offset, drift, run at another rate, jump, answer with noise or wild outliers.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from itertools import pairwise

import pytest
from hypothesis import given, settings, strategies as st

from moonlight.core.connectors.contract import Transient
from moonlight.core.events import AlarmLevel
from moonlight.core.runtime.clock import (
    BrokerClock,
    FastForwardClock,
    SlewedOffset,
    SteadyWallClock,
    WallClock,
    next_bar_close,
    steady,
)
from moonlight.core.runtime.server_time import (
    CLOCK_BOUND,
    CLOCK_JUMP,
    CLOCK_RATE,
    CLOCK_UNAVAILABLE,
    ClockSyncPolicy,
    OffsetEstimator,
    OffsetSample,
    ServerTimeSync,
)

START = 1_767_600_000.0


class FakeBrokerTime:
    """A broker's ``server_time``: ``broker(true_time)`` read mid-way through a round trip."""

    def __init__(
        self,
        local: FastForwardClock,
        broker: Callable[[float], float],
        *,
        rtt_s: float = 0.08,
        jitter_s: float = 0.04,
        seed: int = 0,
    ) -> None:
        self.local = local
        self.broker = broker
        self.rtt_s = rtt_s
        self.jitter_s = jitter_s
        self.rng = random.Random(seed)
        self.failing = False
        self.pings = 0

    async def server_time(self) -> float:
        self.pings += 1
        if self.failing:
            raise Transient("server time request timed out")
        half = self.rtt_s / 2 + self.rng.uniform(0.0, self.jitter_s)
        await self.local.sleep_until(self.local.now() + half)
        value = self.broker(self.local.now())
        await self.local.sleep_until(self.local.now() + self.rng.uniform(0.0, self.jitter_s))
        return value


class Alarms:
    def __init__(self) -> None:
        self.raised: list[tuple[AlarmLevel, str, str]] = []

    def __call__(self, level: AlarmLevel, code: str, message: str) -> None:
        self.raised.append((level, code, message))

    def codes(self) -> list[str]:
        return [code for _, code, _ in self.raised]


def make_sync(
    broker: Callable[[float], float], **fake: float | int
) -> tuple[FastForwardClock, BrokerClock, FakeBrokerTime, ServerTimeSync, Alarms]:
    local = FastForwardClock(START)
    broker_clock = BrokerClock(local)
    source = FakeBrokerTime(local, broker, **fake)  # type: ignore[arg-type]
    alarms = Alarms()
    sync = ServerTimeSync(source, broker_clock, alarm=alarms, label="acc1")
    return local, broker_clock, source, sync, alarms


async def follow(
    local: FastForwardClock, broker_clock: BrokerClock, sync: ServerTimeSync, hours: float
) -> list[tuple[float, float]]:
    """Ping every interval for ``hours`` (driven by hand); ``(local, broker clock)`` after each."""
    readings = []
    end = local.now() + hours * 3600.0
    while local.now() < end:
        await local.sleep_until(local.now() + sync.policy.interval_s)
        await sync.sample()
        readings.append((local.now(), broker_clock.now()))
    return readings


async def test_a_steady_offset_is_applied_at_start_up_and_held() -> None:
    local, broker_clock, _, sync, alarms = make_sync(lambda t: t + 42.5)
    await sync.start()
    assert broker_clock.now() - local.now() == pytest.approx(42.5, abs=0.05)
    await follow(local, broker_clock, sync, hours=1)
    assert broker_clock.now() - local.now() == pytest.approx(42.5, abs=0.05)
    assert alarms.raised == []


async def test_wild_replies_do_not_move_the_clock() -> None:
    """One reply in five is off by up to an hour (a bad server behind a load balancer)."""
    wild = random.Random(3)

    def broker(t: float) -> float:
        return t + 1.5 + (wild.choice([-3600.0, 3541.0, 600.0]) if wild.random() < 0.2 else 0.0)

    local, broker_clock, _, sync, alarms = make_sync(broker)
    await sync.start()
    readings = await follow(local, broker_clock, sync, hours=2)
    offsets = [b - t for t, b in readings]
    assert max(abs(o - 1.5) for o in offsets) < 0.1
    assert alarms.raised == []


async def test_a_slow_drift_is_followed_without_alarms() -> None:
    """The broker's clock gains 200 ppm (0.72 s an hour): the engine keeps up with it."""
    local, broker_clock, _, sync, alarms = make_sync(lambda t: t + 0.3 + 2e-4 * (t - START))
    await sync.start()
    await follow(local, broker_clock, sync, hours=3)
    truth = 0.3 + 2e-4 * (local.now() - START)
    # within the median filter's lag (half a window of drift) and the reply jitter
    assert broker_clock.now() - local.now() == pytest.approx(truth, abs=0.1)
    assert alarms.raised == []


async def test_a_broker_clock_running_fast_raises_a_rate_alarm_and_is_held() -> None:
    """1 % fast (36 s an hour): alarmed once, and not followed (bars stay on our time)."""
    local, broker_clock, _, sync, alarms = make_sync(lambda t: t + 0.01 * (t - START))
    await sync.start()
    readings = await follow(local, broker_clock, sync, hours=2)
    assert alarms.codes() == [CLOCK_RATE]
    assert "(+36.0 s per hour)" in alarms.raised[0][2]
    # never followed: its rate was established before any change was believed
    assert_slewed(readings, sync.policy.max_slew)
    assert sync.anchor_s is not None
    assert broker_clock.offset_s == pytest.approx(sync.anchor_s, abs=1e-9)


async def test_a_jump_raises_a_jump_alarm_and_is_not_followed() -> None:
    """The broker's ``server_time`` jumps 3,541 s ahead an hour in (issue 13's finding)."""
    jump_at = START + 3600.0
    local, broker_clock, _, sync, alarms = make_sync(
        lambda t: t + 0.2 + (3541.0 if t >= jump_at else 0.0)
    )
    await sync.start()
    readings = await follow(local, broker_clock, sync, hours=3)
    assert alarms.codes() == [CLOCK_JUMP]  # a step is not a rate either
    assert_slewed(readings, sync.policy.max_slew)
    assert broker_clock.offset_s == pytest.approx(0.2, abs=0.05)
    assert sync.estimate_s == pytest.approx(3541.2, abs=0.05)


async def test_a_glitch_that_ends_is_alarmed_once_and_following_resumes() -> None:
    glitch = (START + 1800.0, START + 3600.0)
    local, broker_clock, _, sync, alarms = make_sync(
        lambda t: t + 0.5 + 4e-4 * (t - START) + (600.0 if glitch[0] <= t < glitch[1] else 0.0)
    )
    await sync.start()
    await follow(local, broker_clock, sync, hours=3)
    assert alarms.codes() == [CLOCK_JUMP]
    truth = 0.5 + 4e-4 * (local.now() - START)  # 400 ppm: followed again after the glitch
    assert broker_clock.offset_s == pytest.approx(truth, abs=0.1)


async def test_consistent_drift_is_followed_up_to_the_bound_then_held() -> None:
    """800 ppm (under the rate alarm) for 5 hours: 14.4 s, past the 10 s bound."""
    local, broker_clock, _, sync, alarms = make_sync(lambda t: t + 8e-4 * (t - START))
    await sync.start()
    readings = await follow(local, broker_clock, sync, hours=5)
    assert [(level, code) for level, code, _ in alarms.raised] == [
        (AlarmLevel.CRITICAL, CLOCK_BOUND)
    ]
    assert sync.anchor_s is not None
    bound = sync.anchor_s + sync.policy.max_correction_s
    assert broker_clock.offset_s == pytest.approx(bound, abs=1e-6)
    assert_slewed(readings, sync.policy.max_slew)


@pytest.mark.parametrize(("step_s", "followed"), [(+3.0, False), (-3.0, False), (+0.8, True)])
async def test_a_broker_step_is_followed_smoothly_only_when_small(
    step_s: float, followed: bool
) -> None:
    jump_at = START + 1800.0
    local, broker_clock, _, sync, alarms = make_sync(
        lambda t: t + 1.0 + (step_s if t >= jump_at else 0.0)
    )
    await sync.start()
    readings = await follow(local, broker_clock, sync, hours=1)
    expected = 1.0 + (step_s if followed else 0.0)
    assert broker_clock.offset_s == pytest.approx(expected, abs=0.05)
    assert_slewed(readings, sync.policy.max_slew)
    assert alarms.codes() == ([] if followed else [CLOCK_JUMP])


async def test_bar_lateness_stays_meaningful_while_the_broker_clock_jumps() -> None:
    """A worker-like loop on the broker clock: before the fix, the bar it was waiting
    for when the offset jumped "arrived 3,541 s late", and it stopped deciding."""
    jump_at = START + 1800.0
    local, broker_clock, _, sync, _ = make_sync(lambda t: t + (3541.0 if t >= jump_at else 0.0))
    await sync.start()
    lateness: list[float] = []

    async def worker() -> None:
        last = 0.0
        for _ in range(120):  # two hours of 1-minute bars
            close = next_bar_close(max(broker_clock.now() - 0.5, last), 60)
            await broker_clock.sleep_until(close + 0.5)
            lateness.append(broker_clock.now() - close)
            last = close

    async def pinger() -> None:
        await follow(local, broker_clock, sync, hours=2.1)

    await asyncio.gather(worker(), pinger())
    assert len(lateness) == 120
    assert max(lateness) < 1.0  # settle delay + at most one minute's slew


async def test_slow_replies_are_discarded_and_an_unreachable_broker_is_alarmed() -> None:
    local, broker_clock, source, sync, alarms = make_sync(lambda t: t + 5.0, rtt_s=12.0)
    await sync.start()  # every start-up reply took 12 s: none is believed
    assert broker_clock.offset_s == 0.0
    assert alarms.codes() == [CLOCK_UNAVAILABLE]
    source.rtt_s = 0.05
    source.failing = True
    assert await sync.sample() is None
    source.failing = False
    await follow(local, broker_clock, sync, hours=1)
    # later pings slew the local clock toward the broker's, 5 ms per second
    assert broker_clock.offset_s == pytest.approx(5.0, abs=0.05)
    assert alarms.codes() == [CLOCK_UNAVAILABLE]  # the first estimate is not a jump


def assert_slewed(readings: list[tuple[float, float]], max_slew: float) -> None:
    """Between two readings the broker clock moved forward by elapsed × (1 ± max_slew)."""
    for (t0, b0), (t1, b1) in pairwise(readings):
        elapsed = t1 - t0
        assert b1 - b0 >= elapsed * (1 - max_slew) - 1e-6
        assert b1 - b0 <= elapsed * (1 + max_slew) + 1e-6


# -- the slewed offset and the broker clock ------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    moves=st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=600.0),  # time until the next retarget
            st.floats(min_value=-50.0, max_value=50.0),  # the new target
        ),
        min_size=1,
        max_size=20,
    ),
    probes=st.lists(st.floats(min_value=0.0, max_value=12_000.0), min_size=2, max_size=30),
    max_rate=st.sampled_from([0.001, 0.005, 0.05]),
)
def test_a_slewed_offset_never_jumps_never_runs_backwards_and_inverts(
    moves: list[tuple[float, float]], probes: list[float], max_rate: float
) -> None:
    offset = SlewedOffset(0.0, max_rate=max_rate)
    t = START
    for wait, target in moves:
        before = offset.at(t)
        t += wait
        offset.slew_to(target, t)
        assert abs(offset.at(t) - before) <= max_rate * wait + 1e-6
    for a, b in pairwise(sorted(probes)):
        ta, tb = t + a, t + b
        moved = offset.at(tb) - offset.at(ta)
        assert abs(moved) <= max_rate * (tb - ta) + 1e-6  # bounded rate
        assert tb + offset.at(tb) >= ta + offset.at(ta) - 1e-6  # never backwards
    for probe in probes:
        broker_ts = t + offset.at(t) + probe
        local = offset.local_time_for(broker_ts, t)
        assert local >= t
        assert local + offset.at(local) == pytest.approx(broker_ts, abs=1e-6)


async def test_broker_clock_sleeps_until_broker_time_while_it_is_slewed() -> None:
    local = FastForwardClock(START)
    broker_clock = BrokerClock(local, SlewedOffset(0.0, max_rate=0.01))
    broker_clock.offset.slew_to(30.0, local.now())  # 3,000 s of slewing ahead
    for wait in (10.0, 700.0, 5_000.0):
        target = broker_clock.now() + wait
        await broker_clock.sleep_until(target)
        assert broker_clock.now() == pytest.approx(target, abs=1e-5)
        assert broker_clock.now() >= target


def test_the_start_up_step_is_the_only_jump() -> None:
    offset = SlewedOffset(0.0)
    offset.step(120.0)
    assert offset.at(START) == offset.target == 120.0
    with pytest.raises(ValueError, match="max_rate"):
        SlewedOffset(0.0, max_rate=1.0)


def test_a_wall_clock_under_a_broker_clock_does_not_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """An NTP step of the host's wall clock leaves the broker clock where it was."""
    base = steady(WallClock())
    assert isinstance(base, SteadyWallClock)
    broker_clock = BrokerClock(WallClock())
    before_base, before_broker = base.now(), broker_clock.now()
    wall = time.time
    monkeypatch.setattr(time, "time", lambda: wall() + 600.0)  # the module the clocks read
    assert abs(base.now() - before_base) < 5.0
    assert abs(broker_clock.now() - before_broker) < 5.0
    assert abs(WallClock().now() - before_base - 600.0) < 5.0  # the plain wall clock did
    simulated = FastForwardClock(START)
    assert steady(simulated) is simulated


def test_the_estimator_takes_the_median_and_a_robust_rate() -> None:
    estimator = OffsetEstimator(window=5)
    assert estimator.median() is None
    assert estimator.drift() == (0.0, 0.0)
    for i, offset in enumerate([1.0, 1.01, 99.0, 1.03, 1.04]):
        estimator.add(OffsetSample(START + 10.0 * i, offset, 0.05))
    assert estimator.median() == pytest.approx(1.03)
    rate, scatter = estimator.drift()
    assert rate == pytest.approx(0.001, rel=1e-6)  # the outlier does not make a rate
    assert scatter < 0.01
    assert estimator.span_s() == 40.0
    with pytest.raises(ValueError, match="window"):
        OffsetEstimator(window=0)


def test_policy_defaults_are_sane() -> None:
    policy = ClockSyncPolicy()
    # a 1-minute bar is never stretched by more than the settle delay by the slew
    assert policy.max_slew * 60.0 < 0.5
    assert policy.max_rate * policy.rate_min_span_s < policy.jump_alarm_s
    assert math.isfinite(policy.max_correction_s)
