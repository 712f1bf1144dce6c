"""Keep trying to record a write while storage is unavailable.

When storage fails (disk full, I/O error, locked past the timeout, read-only, server
gone) the executor must stop opening orders and alarm — but what is already in flight
must still be recorded once storage comes back. :func:`write_with_retry` runs one unit
of work in a fresh session and commits it; on :class:`StorageUnavailable` it reports the
fault to ``on_fault`` (where the caller stops trading and raises the alarm), waits with
capped exponential backoff and tries again, until it succeeds or the policy gives up.
Other exceptions (integrity errors, bugs) are not retried. ``write_with_retry_async``
does the same from an asyncio task, running the blocking database work in a thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from moonlight.core.storage.errors import StorageUnavailable, translate_storage_errors

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying: delays double from ``initial_delay_s`` up to the cap."""

    initial_delay_s: float = 0.2
    max_delay_s: float = 5.0
    max_attempts: int | None = None  # None: until it succeeds

    def delay_s(self, attempt: int) -> float:
        """Wait before retry number ``attempt`` (1 = first retry)."""
        return min(self.max_delay_s, self.initial_delay_s * 2.0 ** (attempt - 1))


FaultCallback = Callable[[StorageUnavailable, int], None]
"""Called with the fault and the number of failed attempts so far (1, 2, ...)."""


def _attempt(sessions: Callable[[], Session], work: Callable[[Session], T]) -> T:
    with translate_storage_errors(), sessions() as session:
        value = work(session)
        session.commit()
        return value


def write_with_retry(
    sessions: Callable[[], Session],
    work: Callable[[Session], T],
    *,
    policy: RetryPolicy | None = None,
    on_fault: FaultCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``work`` in a new session and commit; retry while storage is unavailable.

    Raises the last :class:`StorageUnavailable` if ``policy.max_attempts`` is exhausted.
    ``work`` must be safe to run again (each attempt starts from a fresh session).
    """
    rules = policy or RetryPolicy()
    failures = 0
    while True:
        try:
            return _attempt(sessions, work)
        except StorageUnavailable as fault:
            failures += 1
            if on_fault is not None:
                on_fault(fault, failures)
            if rules.max_attempts is not None and failures >= rules.max_attempts:
                raise
            sleep(rules.delay_s(failures))


async def write_with_retry_async(
    sessions: Callable[[], Session],
    work: Callable[[Session], T],
    *,
    policy: RetryPolicy | None = None,
    on_fault: FaultCallback | None = None,
) -> T:
    """:func:`write_with_retry` for asyncio: each attempt runs in a worker thread."""
    rules = policy or RetryPolicy()
    failures = 0
    while True:
        try:
            return await asyncio.to_thread(_attempt, sessions, work)
        except StorageUnavailable as fault:
            failures += 1
            if on_fault is not None:
                on_fault(fault, failures)
            if rules.max_attempts is not None and failures >= rules.max_attempts:
                raise
            await asyncio.sleep(rules.delay_s(failures))
