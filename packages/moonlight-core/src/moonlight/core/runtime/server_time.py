"""Broker clock sync: the offset re-estimated from ping round trips, slewed, bounded, watched.

Workers align bars, and the executor times expiries, on each broker's clock
(:class:`~moonlight.core.runtime.clock.BrokerClock`). Its offset (broker minus local
time) used to be re-read every minute and applied as a jump; a broker whose clock ran at
another rate then moved every later bar, and one that jumped made every bar "late". Now:

* **Measured continuously.** Every ``interval_s`` the connector's ``server_time()`` is
  asked; a reply ``s`` between local ``t0`` and ``t1`` gives the sample
  ``s - (t0 + t1) / 2`` (half the round trip allowed for). Replies slower than
  ``max_rtt_s`` are discarded: they say little about the time.
* **Median filter.** The estimate is the median of the last ``window`` samples, so a
  single wild reply moves nothing; a change has to persist for half the window.
* **Slewed, never stepped.** The clock's offset moves toward the estimate at most
  ``max_slew`` seconds per second (:class:`~moonlight.core.runtime.clock.SlewedOffset`).
  Only the first estimate, taken before any worker runs, is applied at once.
* **Only consistent estimates are followed.** An estimate that moved more than
  ``jump_alarm_s`` from the last one followed is a jump: a warning ``broker_clock_jump``
  is raised and the clock is held where the broker's time was consistent (a broker's
  ``server_time`` that jumps while its bars do not must not drag the bars along; a real
  change of the broker's clock needs a restart to be re-measured). A broker clock that
  runs at a rate differing from ours by more than ``max_rate`` (the robust Theil-Sen
  slope of the samples over at least ``rate_min_span_s``, lying on a line) raises a
  warning ``broker_clock_rate`` and is held too; so nothing is followed before the
  samples span ``rate_min_span_s`` (a clock running fast must not be followed while its
  rate is still unknown). Following resumes when the estimate is consistent again. Each
  alarm is raised once per episode.
* **Bounded.** Small, consistent drift is followed, but never further than
  ``max_correction_s`` from the start-up offset; beyond it a critical
  ``broker_clock_bound`` alarm is raised and the clock stays at the bound.

Because the offset changes smoothly and boundedly, a bar's lateness (how long after its
close, on this clock, it was decided) stays a real measurement: a broker clock that
jumps or drifts raises an alarm instead of making every bar "late".
"""

from __future__ import annotations

import logging
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Protocol

from moonlight.core.connectors.contract import ConnectorError
from moonlight.core.events import AlarmLevel
from moonlight.core.runtime.clock import BrokerClock

log = logging.getLogger("moonlight.server_time")

ClockAlarm = Callable[[AlarmLevel, str, str], object]
"""``alarm(level, code, message)``: raised on this broker's (account's) scope."""


class ServerTimeSource(Protocol):
    """What is pinged: a connector's ``server_time()`` (the broker's clock, epoch s)."""

    async def server_time(self) -> float: ...


CLOCK_JUMP = "broker_clock_jump"
CLOCK_RATE = "broker_clock_rate"
CLOCK_BOUND = "broker_clock_bound"
CLOCK_UNAVAILABLE = "broker_clock_unavailable"


@dataclass(frozen=True, slots=True)
class ClockSyncPolicy:
    """How often the broker's clock is measured and how much of it is believed."""

    interval_s: float = 30.0
    """Pause between pings."""
    window: int = 15
    """Samples in the median filter (7.5 minutes at the default interval)."""
    startup_samples: int = 5
    """Pings taken back to back at start-up for the first (stepped) estimate."""
    max_rtt_s: float = 5.0
    """Replies slower than this are discarded."""
    max_slew: float = 0.005
    """Fastest change of the applied offset, seconds per second."""
    jump_alarm_s: float = 2.0
    """An estimate this far from the one last followed is a jump (held, alarmed)."""
    max_rate: float = 0.001
    """A broker clock running faster or slower than ours by more (s/s) is alarmed."""
    rate_min_span_s: float = 300.0
    """The shortest stretch of samples the rate is judged on."""
    max_correction_s: float = 10.0
    """The offset never moves further than this from its start-up value (two NTP-synced
    clocks stay well within a second; a host without NTP drifts a second or two a day)."""


@dataclass(frozen=True, slots=True)
class OffsetSample:
    """One ping: when it was answered (local time), the offset it implies, its round trip."""

    local_ts: float
    offset_s: float
    rtt_s: float


class OffsetEstimator:
    """The last ``window`` samples: their median offset and their rate (robust slope)."""

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.samples: deque[OffsetSample] = deque(maxlen=window)

    def add(self, sample: OffsetSample) -> None:
        self.samples.append(sample)

    def median(self) -> float | None:
        """The median offset of the window, None before the first sample."""
        if not self.samples:
            return None
        return statistics.median(s.offset_s for s in self.samples)

    def span_s(self) -> float:
        """Local time between the oldest and the newest sample."""
        if len(self.samples) < 2:
            return 0.0
        return self.samples[-1].local_ts - self.samples[0].local_ts

    def drift(self) -> tuple[float, float]:
        """``(rate, scatter)``: how fast the offset changes (seconds per second) and how far
        the samples lie from that straight line (median absolute residual, seconds).

        The rate is the Theil-Sen slope (the median of every pairwise slope), so a few
        wild samples cannot fake or hide it. A clock that *runs* at another rate lies
        on a line (small scatter); a clock that *jumped* inside the window does not.
        """
        points = list(self.samples)
        slopes = [
            (b.offset_s - a.offset_s) / (b.local_ts - a.local_ts)
            for a, b in combinations(points, 2)
            if b.local_ts > a.local_ts
        ]
        if not slopes:
            return 0.0, 0.0
        rate = statistics.median(slopes)
        origin = points[0].local_ts  # residuals on times near zero: no float cancellation
        line = [p.offset_s - rate * (p.local_ts - origin) for p in points]
        level = statistics.median(line)
        scatter = statistics.median(abs(value - level) for value in line)
        return rate, scatter


class ServerTimeSync:
    """Keeps one :class:`BrokerClock` on its broker's time; see the module docstring."""

    def __init__(
        self,
        connector: ServerTimeSource,
        clock: BrokerClock,
        *,
        alarm: ClockAlarm,
        label: str,
        policy: ClockSyncPolicy | None = None,
    ) -> None:
        self.connector = connector
        self.clock = clock
        self.alarm = alarm
        self.label = label
        self.policy = policy or ClockSyncPolicy()
        self.estimator = OffsetEstimator(self.policy.window)
        #: The start-up offset the bound is measured from (None before the first estimate).
        self.anchor_s: float | None = None
        #: The latest filtered estimate, followed or not.
        self.estimate_s: float | None = None
        #: The latest estimate that was consistent (no jump, no odd rate): the one followed.
        self.accepted_s: float | None = None
        self._alarmed: set[str] = set()
        self._following = False

    async def start(self) -> None:
        """Take the start-up pings and apply their median at once (before workers run)."""
        for _ in range(self.policy.startup_samples):
            await self.sample()
        self._following = True
        median = self.estimator.median()
        if median is None:
            self._raise_once(
                AlarmLevel.WARNING,
                CLOCK_UNAVAILABLE,
                f"{self.label}: the broker's time is unavailable at start-up; bars are"
                " aligned to the local clock until pings succeed",
            )
            return
        self.clock.offset.step(median)
        self.anchor_s = self.estimate_s = self.accepted_s = median
        log.info("%s: broker clock offset %+.3f s", self.label, median)

    async def run(self) -> None:
        """Ping every ``interval_s`` and follow the estimate, until cancelled."""
        base = self.clock.base
        while True:
            await base.sleep_until(base.now() + self.policy.interval_s)
            await self.sample()

    async def sample(self) -> OffsetSample | None:
        """One ping; the sample it gave (None when the broker did not answer usefully)."""
        base = self.clock.base
        sent = base.now()
        try:
            server = await self.connector.server_time()
        except ConnectorError as error:
            log.info("%s: server time unavailable: %r", self.label, error)
            return None
        except Exception:  # a connector bug must not end the clock sync for good
            log.exception("%s: server_time() failed", self.label)
            return None
        received = base.now()
        rtt = received - sent
        if rtt > self.policy.max_rtt_s:
            log.info("%s: server time reply after %.1f s discarded", self.label, rtt)
            return None
        sample = OffsetSample(received, server - (sent + received) / 2.0, rtt)
        self.estimator.add(sample)
        self._alarmed.discard(CLOCK_UNAVAILABLE)
        if self._following:
            self._follow(received)
        return sample

    def _follow(self, now: float) -> None:
        """Retarget the slew to the filtered estimate when it is consistent; raise what
        looks wrong and hold the clock where it was consistent."""
        policy = self.policy
        median = self.estimator.median()
        assert median is not None
        if self.anchor_s is None or self.accepted_s is None:
            # The start-up pings failed: the first estimate is slewed to, not a jump.
            self.anchor_s = self.accepted_s = median
        self.estimate_s = median
        span = self.estimator.span_s()
        rate_known = span >= policy.rate_min_span_s
        rate, scatter = self.estimator.drift() if rate_known else (0.0, 0.0)
        # On a line: the scatter is small against the drift the rate adds up to over the
        # window (a jump inside the window leaves a quarter of its size or more).
        runs_off = abs(rate) > policy.max_rate and scatter < 0.1 * abs(rate) * span
        self._watch(
            CLOCK_RATE,
            runs_off,
            AlarmLevel.WARNING,
            f"{self.label}: the broker's clock runs {rate * 1e6:+.0f} ppm"
            f" ({rate * 3600:+.1f} s per hour) against ours; the engine holds its clock",
        )
        # (while the rate explains the distance, it is not also called a jump)
        jumped = not runs_off and abs(median - self.accepted_s) > policy.jump_alarm_s
        self._watch(
            CLOCK_JUMP,
            jumped,
            AlarmLevel.WARNING,
            f"{self.label}: the broker's clock moved {median - self.accepted_s:+.3f} s at once;"
            " the engine holds its clock where the broker's was consistent (restart to"
            " re-measure if the broker really changed its time)",
        )
        if rate_known and not jumped and not runs_off:
            self.accepted_s = median
        low = self.anchor_s - policy.max_correction_s
        high = self.anchor_s + policy.max_correction_s
        bounded = min(max(self.accepted_s, low), high)
        self._watch(
            CLOCK_BOUND,
            bounded != self.accepted_s,
            AlarmLevel.CRITICAL,
            f"{self.label}: the broker's clock drifted {self.accepted_s - self.anchor_s:+.1f} s"
            f" since start-up; the engine holds it at {bounded - self.anchor_s:+.1f} s (check"
            " the host's and the broker's clocks, then restart)",
        )
        self.clock.offset.slew_to(bounded, now)

    def _watch(self, code: str, active: bool, level: AlarmLevel, message: str) -> None:
        if active:
            self._raise_once(level, code, message)
        else:
            self._alarmed.discard(code)

    def _raise_once(self, level: AlarmLevel, code: str, message: str) -> None:
        if code in self._alarmed:
            return
        self._alarmed.add(code)
        self.alarm(level, code, message)
