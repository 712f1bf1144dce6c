"""Worker life cycle: start, pause, resume, stop, and restart with backoff on failure.

A worker that raises is logged, counted and restarted after a pause that doubles up to
``restart_backoff_max_s``; the other workers are not affected. Pausing keeps a worker's
indicators up to date (it still reads every bar) but it stops deciding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable

from moonlight.core.runtime.clock import Clock
from moonlight.core.runtime.worker import Worker, WorkerState

log = logging.getLogger("moonlight.scheduler")

FailureListener = Callable[[Worker, BaseException], None]


class WorkerSupervisor:
    """Runs workers as tasks and keeps them running."""

    def __init__(
        self,
        clock: Clock,
        *,
        restart_backoff_max_s: float = 60.0,
        on_failure: FailureListener | None = None,
    ) -> None:
        self.clock = clock
        self.restart_backoff_max_s = restart_backoff_max_s
        self.on_failure = on_failure
        self.workers: dict[str, Worker] = {}
        self.failures: Counter[str] = Counter()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, worker: Worker) -> None:
        """Start (or restart) supervising ``worker``."""
        label = worker.key.label
        self.workers[label] = worker
        task = self._tasks.get(label)
        if task is None or task.done():
            self._tasks[label] = asyncio.get_running_loop().create_task(
                self._supervise(worker), name=f"worker {label}"
            )

    def register(self, worker: Worker) -> None:
        """Follow ``worker`` (state, pause, failures) while a caller drives it itself."""
        self.workers[worker.key.label] = worker

    def pause(self, labels: Iterable[str]) -> list[str]:
        """Stop deciding (keep reading bars); returns the labels that exist."""
        return self._set_paused(labels, True)

    def resume(self, labels: Iterable[str]) -> list[str]:
        """Decide again; returns the labels that exist."""
        return self._set_paused(labels, False)

    def _set_paused(self, labels: Iterable[str], paused: bool) -> list[str]:
        done = []
        for label in labels:
            worker = self.workers.get(label)
            if worker is None:
                continue
            worker.paused = paused
            if worker.state in (WorkerState.RUNNING, WorkerState.PAUSED):
                worker.state = WorkerState.PAUSED if paused else WorkerState.RUNNING
            done.append(label)
        return done

    def states(self) -> Counter[str]:
        """How many workers are in each state."""
        return Counter(worker.state.value for worker in self.workers.values())

    async def stop(self) -> None:
        """Cancel every worker and wait for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for worker in self.workers.values():
            worker.state = WorkerState.STOPPED
        self._tasks.clear()

    def failed(self, worker: Worker, error: Exception, then: str) -> None:
        """Count and report a worker's failure (``then``: what happens next, logged)."""
        self.failures[worker.key.label] += 1
        worker.state = WorkerState.BACKOFF
        log.error("worker %s failed; %s", worker.key.label, then, exc_info=error)
        if self.on_failure is not None:
            self.on_failure(worker, error)

    async def _supervise(self, worker: Worker) -> None:
        delay_s = 1.0
        while True:
            try:
                await worker.run()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a worker's failure must not touch the others
                self.failed(worker, error, f"restarting in {delay_s:.0f} s")
                await self.clock.sleep_until(self.clock.now() + delay_s)
                delay_s = min(delay_s * 2.0, self.restart_backoff_max_s)
