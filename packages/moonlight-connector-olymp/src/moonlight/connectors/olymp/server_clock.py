"""The connector's estimate of the broker's clock, re-estimated from every measurement.

Evidence (brief 4.5, 4.10):

* an e:90 reply stamped ``ts`` (whole seconds in the 2025 log) was produced after the
  request left and before the reply arrived, so the offset (server minus local time)
  lies in ``[ts - received, ts + resolution - sent]``;
* a tick stamped ``t`` (fractional server seconds) cannot have been pushed before it
  happened: the offset is at least ``t - received``, and a fresh tick makes that bound
  tight (push latency only).

Each ping gives one **sample**: the freshest tick bound clamped into the ping's bracket,
or the bracket's middle when no tick arrived in the last ``tick_fresh_s``. The estimate
is the **median of the last** ``window`` **samples**: one wild reply moves nothing, while
a clock that jumps, drifts or runs fast is followed within half a window. (The earlier
estimate intersected every bracket of the last hour, so a broker clock that moved kept
the estimate pinned to its first pings.)

:meth:`ClockOffset.add_ping` returns the sample itself, so ``server_time()`` reports a
fresh measurement each time it is asked: the engine's clock sync
(``moonlight.core.runtime.server_time``) does its own filtering, slewing, bounding and
alarming, and must see the broker's clock as it is, not this estimate's memory of it.
"""

from __future__ import annotations

import statistics
from collections import deque


class ClockOffset:
    """Server clock minus local clock: the median of the recent ping samples."""

    def __init__(self, window: int = 5, tick_fresh_s: float = 5.0) -> None:
        self._samples: deque[float] = deque(maxlen=window)
        self._tick_fresh_s = tick_fresh_s
        self._tick: tuple[float, float] | None = None  # (local time seen, lower bound)

    @property
    def offset_s(self) -> float:
        """Seconds to add to local time to get server time (0 before any evidence)."""
        if self._samples:
            return statistics.median(self._samples)
        return self._tick[1] if self._tick is not None else 0.0

    @property
    def samples(self) -> int:
        """How many ping samples the estimate rests on."""
        return len(self._samples)

    def add_lower_bound(self, server_ts: float, local_ts: float) -> None:
        """Server time was at least ``server_ts`` at local time ``local_ts`` (a tick)."""
        bound = server_ts - local_ts
        current = self._fresh_tick(local_ts)
        if current is None or bound >= current:
            self._tick = (local_ts, bound)

    def add_ping(self, server_ts: float, sent_ts: float, received_ts: float) -> float:
        """An e:90 reply: ``server_ts`` stamped between local ``sent_ts`` and
        ``received_ts``. Returns this ping's own sample of the offset."""
        resolution = 1.0 if float(server_ts).is_integer() else 0.0
        low = server_ts - received_ts
        high = server_ts + resolution - sent_ts
        tick = self._fresh_tick(received_ts)
        sample = min(max(tick, low), high) if tick is not None else (low + high) / 2.0
        self._samples.append(sample)
        return sample

    def _fresh_tick(self, now: float) -> float | None:
        if self._tick is None or now - self._tick[0] > self._tick_fresh_s:
            return None
        return self._tick[1]
