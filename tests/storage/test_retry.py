"""write_with_retry: a write that meets a storage fault is retried until it is recorded."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import Engine, event, exc, func, select
from sqlalchemy.orm import Session

from moonlight.core.config import MoonlightConfig
from moonlight.core.events import AlarmLevel
from moonlight.core.storage import migrate, repository as repo
from moonlight.core.storage.engine import session_factory
from moonlight.core.storage.errors import StorageFault, StorageUnavailable
from moonlight.core.storage.models import Alarm
from moonlight.core.storage.retry import RetryPolicy, write_with_retry, write_with_retry_async


class FlakyInserts:
    """Fails the next ``failures`` INSERTs with a driver-level error, then lets them pass."""

    def __init__(self, engine: Engine, failures: int, error: Exception) -> None:
        self.remaining = failures
        self.error = error
        self.engine = engine

    def __enter__(self) -> FlakyInserts:
        event.listen(self.engine, "do_execute", self._maybe_fail)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "do_execute", self._maybe_fail)

    def _maybe_fail(self, cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        if self.remaining > 0 and statement.lstrip().upper().startswith("INSERT"):
            self.remaining -= 1
            raise self.error


def _alarm(session: Session) -> Alarm:
    return repo.record_alarm(session, level=AlarmLevel.WARNING, code="t", message="in flight")


def _count(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return int(session.scalar(select(func.count()).select_from(Alarm)) or 0)


def _io_error(engine: Engine) -> Exception:
    if engine.dialect.name == "sqlite":
        return sqlite3.OperationalError("disk I/O error")
    import psycopg

    return psycopg.errors.IoError("could not write block")


def test_retries_until_recorded_and_reports_each_fault(engine: Engine) -> None:
    faults: list[tuple[StorageFault, int]] = []
    delays: list[float] = []
    with FlakyInserts(engine, 3, _io_error(engine)):
        alarm = write_with_retry(
            session_factory(engine),
            _alarm,
            policy=RetryPolicy(initial_delay_s=0.1, max_delay_s=0.3),
            on_fault=lambda fault, n: faults.append((fault.reason, n)),
            sleep=delays.append,
        )
    assert alarm.id is not None
    assert faults == [
        (StorageFault.IO_ERROR, 1),
        (StorageFault.IO_ERROR, 2),
        (StorageFault.IO_ERROR, 3),
    ]
    assert delays == [0.1, 0.2, 0.3]
    assert _count(engine) == 1  # recorded exactly once


def test_gives_up_after_max_attempts(engine: Engine) -> None:
    with FlakyInserts(engine, 10, _io_error(engine)), pytest.raises(StorageUnavailable):
        write_with_retry(
            session_factory(engine),
            _alarm,
            policy=RetryPolicy(max_attempts=2),
            sleep=lambda _s: None,
        )
    assert _count(engine) == 0


def test_other_errors_are_not_retried(engine: Engine) -> None:
    attempts: list[int] = []

    def buggy(session: Session) -> None:
        attempts.append(1)
        repo.record_alarm(session, level=AlarmLevel.INFO, code="x", message="y")
        raise ValueError("bug in the caller")

    with pytest.raises(ValueError, match="bug"):
        write_with_retry(session_factory(engine), buggy, sleep=lambda _s: None)
    assert attempts == [1]
    assert _count(engine) == 0  # the failed unit of work was rolled back


async def test_async_variant(engine: Engine) -> None:
    faults: list[int] = []
    with FlakyInserts(engine, 2, _io_error(engine)):
        alarm = await write_with_retry_async(
            session_factory(engine),
            _alarm,
            policy=RetryPolicy(initial_delay_s=0.01),
            on_fault=lambda _fault, n: faults.append(n),
        )
    assert alarm.id is not None and faults == [1, 2]
    assert _count(engine) == 1


def test_prepare_storage_upgrades_at_start_up(db_url: Any, tmp_path: Any) -> None:
    config = MoonlightConfig(
        data_dir=tmp_path / "data",
        storage={"url": db_url.render_as_string(hide_password=False)},
    )
    engine = migrate.prepare_storage(config)
    try:
        assert migrate.is_up_to_date(engine)
        assert (tmp_path / "data").is_dir()
    finally:
        engine.dispose()


def test_prepare_storage_refuses_an_unreachable_database(tmp_path: Any) -> None:
    config = MoonlightConfig(
        data_dir=tmp_path, storage={"url": "postgresql+psycopg://x@127.0.0.1:1/none"}
    )
    with pytest.raises(StorageUnavailable) as raised:
        migrate.prepare_storage(config)
    assert raised.value.reason is StorageFault.CONNECTION_LOST
    assert isinstance(raised.value.__cause__, exc.OperationalError)
