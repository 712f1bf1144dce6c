"""Write the key metrics into the ``metrics`` table every ``telemetry.metrics_snapshot_s``.

A :class:`MetricsSnapshotter` is an asyncio task. At each tick it takes
:meth:`EngineMetrics.samples() <moonlight.core.telemetry.metrics.EngineMetrics.samples>`
and stores them with one timestamp, scope ``global``, ``acc`` (key: account id),
``prod`` (key: instrument) or ``tf`` (key: timeframe).

To keep the table small (120 workers, 2,880 snapshots a day), a non-global series gets a
row only when its value changed since the row last written for it: read such a series as
a step function. Global rows are written at every tick and double as a heartbeat.

Time comes from an injectable clock with the engine clock's shape (``now()`` in epoch
seconds, ``async sleep_until(when)``), so a simulated or fast-forward clock drives
snapshots in tests and backtests without waiting 30 real seconds. Storage writes run in
a worker thread (:func:`asyncio.to_thread`) so a busy SQLite file never blocks the event
loop; a failed write is logged and counted, and the next tick tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.storage.models import MetricScope
from moonlight.core.storage.repository import MetricSample, insert_metrics
from moonlight.core.telemetry.metrics import EngineMetrics, ScopedValue

log = logging.getLogger(__name__)

SampleWriter = Callable[[Sequence[MetricSample]], int]
"""Stores samples, returns how many rows were written (runs in a worker thread)."""


class SnapshotClock(Protocol):
    """The part of the engine clock the snapshot task needs."""

    def now(self) -> float:
        """Current time, epoch seconds UTC."""

    async def sleep_until(self, when: float) -> None:
        """Return once ``now() >= when``."""


class WallTime:
    """Real time, for when no engine clock is given."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    async def sleep_until(self, when: float) -> None:
        """Sleep on the event loop until ``when``."""
        while (delay := when - self.now()) > 0:
            await asyncio.sleep(delay)


def sql_writer(sessions: sessionmaker[Session]) -> SampleWriter:
    """A writer that inserts samples in one transaction of a new session."""

    def write(samples: Sequence[MetricSample]) -> int:
        with sessions() as session, session.begin():
            return insert_metrics(session, samples)

    return write


class MetricsSnapshotter:
    """Periodically stores :class:`EngineMetrics` samples; start, stop, or tick by hand."""

    def __init__(
        self,
        metrics: EngineMetrics,
        writer: SampleWriter,
        *,
        interval_s: float = 30.0,
        clock: SnapshotClock | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.metrics = metrics
        self.writer = writer
        self.interval_s = interval_s
        self.clock: SnapshotClock = clock or WallTime()
        self.snapshots_written = 0
        self.rows_written = 0
        self.failures = 0
        self._last: dict[tuple[str, MetricScope, str | None], float] = {}
        self._task: asyncio.Task[None] | None = None

    def _select(self, values: Sequence[ScopedValue], ts: datetime) -> list[MetricSample]:
        chosen: list[MetricSample] = []
        for item in values:
            key = (item.name, item.scope, item.scope_key)
            if item.scope is not MetricScope.GLOBAL and self._last.get(key) == item.value:
                continue
            chosen.append(
                MetricSample(
                    name=item.name,
                    value=item.value,
                    scope=item.scope,
                    scope_key=item.scope_key,
                    ts=ts,
                )
            )
        return chosen

    async def snapshot_once(self) -> int:
        """Take and store one snapshot now; returns rows written (0 if the write failed)."""
        ts = datetime.fromtimestamp(self.clock.now(), UTC)
        samples = self._select(self.metrics.samples(), ts)
        try:
            written = await asyncio.to_thread(self.writer, samples)
        except Exception:
            self.failures += 1
            log.exception("metrics snapshot of %d rows could not be stored", len(samples))
            return 0
        for sample in samples:
            self._last[(sample.name, MetricScope(sample.scope), sample.scope_key)] = sample.value
        self.snapshots_written += 1
        self.rows_written += written
        return written

    async def run(self, *, max_snapshots: int | None = None) -> None:
        """Snapshot every ``interval_s`` on the clock (forever, or ``max_snapshots``)."""
        next_at = self.clock.now() + self.interval_s
        taken = 0
        while max_snapshots is None or taken < max_snapshots:
            await self.clock.sleep_until(next_at)
            await self.snapshot_once()
            taken += 1
            # Stay on the grid; after a long stall (suspended laptop) skip missed ticks.
            next_at += self.interval_s
            now = self.clock.now()
            if next_at <= now:
                next_at = now + self.interval_s

    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` as a background task on the current loop."""
        if self._task is not None and not self._task.done():
            raise RuntimeError("the snapshot task is already running")
        self._task = asyncio.get_running_loop().create_task(self.run(), name="metrics-snapshots")
        return self._task

    async def stop(self, *, final_snapshot: bool = True) -> None:
        """Cancel the task; by default store a last snapshot so shutdown loses nothing."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # stop() itself is being cancelled: do not swallow that
        if final_snapshot:
            await self.snapshot_once()
