"""Group commit: the bookkeeping that falls due at one instant, in one transaction.

At a synchronised bar close many contracts settle at once. Writing each result (and the
guard state it changes) in its own transaction costs a COMMIT (a WAL append on SQLite, a
WAL flush on PostgreSQL) and the per-transaction overhead per contract, on the event
loop's thread, ahead of the decisions of that same instant.
None of those writes has to be durable before anything else happens: they record facts
the broker already holds, and start-up reconciliation recovers them from the broker
after a crash (the order is still non-terminal in storage, so it is reconciled and its
result derived again, guard state included). So they are *staged* here and written
together.

How an instant is delimited: the first :meth:`GroupCommit.stage` schedules a flush with
``loop.call_soon``; the flush waits, one loop iteration at a time, while other work is
runnable (the decisions of that instant: every worker woken by the bar close) or the
previous iteration staged more (the cascade settlement → order task → trader's
bookkeeping takes a few iterations) -- at most ``max_rounds`` iterations, so a loop that
is never idle (a fast-forward clock's driver yields until idle too) still commits
promptly -- then writes everything in one transaction: rows of the
same :class:`BatchWrite` go to the database as one ``executemany``.

A write that must precede a side effect (an order's SEND intent before the wire) never
comes here; it is committed on its own, immediately (:class:`OrderJournal`).

Failure: a flush that raises
:class:`~moonlight.core.storage.errors.StorageUnavailable` fails the futures of that
batch with it (their owners retry, e.g. the executor halts trading and stages its write
again) and keeps the rows, which are written with the next flush -- every batch write is
idempotent, so a row written twice is harmless. Rows staged without an owner waiting
(guard state) are therefore never dropped by a storage fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from moonlight.core.storage.errors import StorageUnavailable, translate_storage_errors


class BatchWrite(Protocol):
    """One kind of staged write: many rows written by a few statements (executemany)."""

    def write(self, connection: Connection, rows: Sequence[Any]) -> Sequence[object]:
        """Write ``rows`` inside the open transaction; one outcome per row, in order --
        a value for the row's waiter, or an exception to raise to it (that row only)."""
        ...


@dataclass(slots=True)
class _Staged:
    op: BatchWrite
    row: Any
    future: asyncio.Future[Any] | None


class GroupCommit:
    """Stages writes and commits them once per instant; see the module docstring."""

    def __init__(self, engine: Engine, *, max_rounds: int = 32, keep_timings: bool = False) -> None:
        self.engine = engine
        self.max_rounds = max_rounds
        self.keep_timings = keep_timings
        #: Wall time of every committed flush (statements and COMMIT), when kept.
        self.flush_timings_s: list[float] = []
        #: Rows per committed flush, when timings are kept.
        self.flush_rows: list[int] = []
        self._pending: list[_Staged] = []
        self._scheduled = False
        self._rounds = 0
        self._seen = 0
        self._collecting = 0

    @property
    def pending(self) -> int:
        """Rows staged and not committed yet."""
        return len(self._pending)

    def stage(self, op: BatchWrite, row: Any, *, wait: bool = True) -> asyncio.Future[Any] | None:
        """Queue ``row`` for this instant's transaction (needs a running event loop).

        With ``wait`` the returned future gets the row's outcome once committed (or the
        flush's :class:`StorageUnavailable`); without, nobody waits and None is returned.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future() if wait else None
        self._pending.append(_Staged(op, row, future))
        if not self._scheduled:
            self._scheduled = True
            self._rounds = 0
            self._seen = 0  # the first tick always waits one more iteration
            loop.call_soon(self._tick)
        return future

    @contextlib.contextmanager
    def collecting(self) -> Iterator[None]:
        """Mark bookkeeping that follows from a staged broker fact (the trader's books of
        a result): writes that ask :attr:`is_collecting` join the same transaction."""
        self._collecting += 1
        try:
            yield
        finally:
            self._collecting -= 1

    @property
    def is_collecting(self) -> bool:
        """True inside :meth:`collecting`."""
        return self._collecting > 0

    def _tick(self) -> None:
        grew = len(self._pending) != self._seen
        self._seen = len(self._pending)
        loop = asyncio.get_running_loop()
        if (grew or runnable(loop)) and self._rounds < self.max_rounds:
            self._rounds += 1
            loop.call_soon(self._tick)
            return
        self._scheduled = False
        with contextlib.suppress(StorageUnavailable):  # waiters were told; rows are kept
            self.flush()

    def flush(self) -> int:
        """Write every staged row now, in one transaction; returns how many rows.

        Raises :class:`StorageUnavailable` after failing the waiting futures with it.
        """
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        groups: dict[int, tuple[BatchWrite, list[_Staged]]] = {}
        for staged in batch:
            groups.setdefault(id(staged.op), (staged.op, []))[1].append(staged)
        started = time.perf_counter()
        outcomes: list[tuple[_Staged, object]] = []
        try:
            with translate_storage_errors(), self.engine.begin() as connection:
                for op, members in groups.values():
                    results = op.write(connection, [staged.row for staged in members])
                    outcomes.extend(zip(members, results, strict=True))
        except StorageUnavailable as error:
            self._pending[:0] = [_Staged(s.op, s.row, None) for s in batch]
            for staged in batch:
                _resolve(staged.future, error)
            raise
        except BaseException as error:
            for staged in batch:
                _resolve(staged.future, error)
            raise
        if self.keep_timings:
            self.flush_timings_s.append(time.perf_counter() - started)
            self.flush_rows.append(len(batch))
        for staged, outcome in outcomes:
            _resolve(staged.future, outcome)
        return len(batch)


def runnable(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether other callbacks are ready to run now (CPython's loops keep them in
    ``_ready``; on a loop without it, nothing is known to be runnable)."""
    return bool(getattr(loop, "_ready", None))


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _resolve(future: asyncio.Future[Any] | None, outcome: object) -> None:
    if future is None or future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
        # an owner that stopped waiting (its task was cancelled) is not an error
        future.add_done_callback(_retrieve)
    else:
        future.set_result(outcome)
