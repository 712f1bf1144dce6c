"""The strict fake Olymp broker's own clock: it may be skewed, drift, jump or run fast.

The brief (4.10) says the broker's time reaches a client only through e:90 ``ts`` (whole
seconds) and tick ``t`` fields; nothing promises it agrees with ours. This clock is
piecewise linear in local time: ``server = anchor_server + rate * (local - anchor_local)``.
:meth:`jump` moves it at once, :meth:`set_rate` changes how fast it runs from now on.
"""

from __future__ import annotations

import time


class FakeBrokerClock:
    """Server time as a piecewise-linear function of local (``time.time()``) time."""

    def __init__(self, skew_s: float = 0.0, rate: float = 1.0) -> None:
        self._local = time.time()
        self._server = self._local + skew_s
        self.rate = rate
        self.jumps: list[float] = []

    def now(self) -> float:
        """The broker's time now (epoch seconds, fractional)."""
        return self.at(time.time())

    def at(self, local_ts: float) -> float:
        """The broker's time at local time ``local_ts``."""
        return self._server + self.rate * (local_ts - self._local)

    def local_at(self, server_ts: float) -> float:
        """The local time at which the broker's clock reads ``server_ts`` (rate > 0)."""
        return self._local + (server_ts - self._server) / self.rate

    def jump(self, seconds: float) -> None:
        """Step the broker's clock by ``seconds`` (positive: forward)."""
        self._rebase()
        self._server += seconds
        self.jumps.append(seconds)

    def set_rate(self, rate: float) -> None:
        """From now on the broker's clock advances ``rate`` seconds per local second."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rebase()
        self.rate = rate

    def _rebase(self) -> None:
        local = time.time()
        self._server = self.at(local)
        self._local = local
