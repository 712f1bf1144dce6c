"""Throttling of failed authentication, per client address.

Each wrong token, session or login code counts one failure for the client's address.
``failures_max`` failures within ``window_s`` lock the client out for ``lockout_s``:
during the lockout every *wrong* credential from it is answered 429 and not counted
again (the lockout does not grow while it lasts). A correct credential is never
refused because of the address's failures — see :mod:`moonlight.server.auth` for why
that is safe. Memory is bounded: stale entries are pruned as clients come.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_TRACKED_CLIENTS = 10_000


@dataclass(slots=True)
class _Client:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class FailureThrottle:
    """Counts failed authentications per client and locks out the persistent ones."""

    def __init__(
        self,
        *,
        failures_max: int,
        window_s: float,
        lockout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_max = failures_max
        self.window_s = window_s
        self.lockout_s = lockout_s
        self._clock = clock
        self._clients: dict[str, _Client] = {}

    def retry_after_s(self, client: str) -> float:
        """Seconds the client remains locked out (0 when it may try)."""
        entry = self._clients.get(client)
        if entry is None:
            return 0.0
        return max(0.0, entry.locked_until - self._clock())

    def failed(self, client: str) -> bool:
        """Record one failure; True when the client is locked out (now or already)."""
        now = self._clock()
        if self.retry_after_s(client) > 0:
            return True  # already locked out: not counted again
        if len(self._clients) >= MAX_TRACKED_CLIENTS and client not in self._clients:
            self._prune(now)
        entry = self._clients.setdefault(client, _Client())
        entry.failures.append(now)
        while entry.failures and now - entry.failures[0] >= self.window_s:
            entry.failures.popleft()
        if len(entry.failures) >= self.failures_max:
            entry.locked_until = now + self.lockout_s
            entry.failures.clear()
            return True
        return False

    def _prune(self, now: float) -> None:
        stale = [
            key
            for key, entry in self._clients.items()
            if entry.locked_until <= now
            and (not entry.failures or now - entry.failures[-1] >= self.window_s)
        ]
        for key in stale:
            del self._clients[key]
        if len(self._clients) >= MAX_TRACKED_CLIENTS:  # still full: forget the oldest
            for key in list(self._clients)[: len(self._clients) // 2]:
                del self._clients[key]
