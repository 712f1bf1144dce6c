"""Storage faults are recognised and raised as StorageUnavailable; other errors are not."""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url

from moonlight.core.orders import Direction
from moonlight.core.storage import migrate, repository as repo
from moonlight.core.storage.engine import create_storage_engine, session_factory
from moonlight.core.storage.errors import (
    StorageFault,
    StorageUnavailable,
    as_storage_unavailable,
    classify,
    translate_storage_errors,
)
from tests.support import storage_rows as rows


def _insert(engine: Engine, client_req_id: str, snapshot: dict[str, Any] | None = None) -> None:
    with translate_storage_errors(), session_factory(engine)() as session:
        rows.insert_order(
            session,
            client_req_id=client_req_id,
            account_id="acc1",
            instrument="EURUSD",
            timeframe="1m",
            direction=Direction.UP,
            stake=1.0,
            currency="USD",
            duration_s=60,
            payout_pct=80.0,
            strategy_snapshot=snapshot,
        )
        session.commit()


# ----------------------------------------------------------- classification table


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (sqlite3.OperationalError("database or disk is full"), StorageFault.DISK_FULL),
        (sqlite3.OperationalError("disk I/O error"), StorageFault.IO_ERROR),
        (sqlite3.OperationalError("database is locked"), StorageFault.LOCKED),
        (
            sqlite3.OperationalError("attempt to write a readonly database"),
            StorageFault.READ_ONLY,
        ),
        (sqlite3.OperationalError("unable to open database file"), StorageFault.CANNOT_OPEN),
        (sqlite3.DatabaseError("database disk image is malformed"), StorageFault.CORRUPT),
        (psycopg.errors.DiskFull("could not write"), StorageFault.DISK_FULL),
        (psycopg.errors.IoError("read failed"), StorageFault.IO_ERROR),
        (psycopg.errors.ReadOnlySqlTransaction("read-only"), StorageFault.READ_ONLY),
        (psycopg.errors.LockNotAvailable("lock timeout"), StorageFault.LOCKED),
        (psycopg.errors.QueryCanceled("statement timeout"), StorageFault.LOCKED),
        (psycopg.errors.AdminShutdown("terminating"), StorageFault.CONNECTION_LOST),
        (psycopg.errors.ConnectionFailure("gone"), StorageFault.CONNECTION_LOST),
        (OSError(errno.ENOSPC, "No space left on device"), StorageFault.DISK_FULL),
        (OSError(errno.EROFS, "Read-only file system"), StorageFault.READ_ONLY),
        (OSError(errno.EIO, "Input/output error"), StorageFault.IO_ERROR),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_classification_table(error: BaseException, fault: StorageFault) -> None:
    assert classify(error) is fault
    wrapped = exc.OperationalError("INSERT ...", {}, error)
    assert classify(wrapped) is fault
    unavailable = as_storage_unavailable(wrapped)
    assert unavailable is not None and unavailable.reason is fault
    assert unavailable.detail == str(error).strip()


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.IntegrityError("UNIQUE constraint failed: orders.client_req_id"),
        exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
        psycopg.errors.UniqueViolation("duplicate key"),
        ValueError("disk I/O error"),  # not a database error: message alone proves nothing
        KeyError("database is locked"),
        exc.ProgrammingError("SELECT", {}, sqlite3.ProgrammingError("no such table: x")),
    ],
)
def test_ordinary_errors_are_not_storage_faults(error: BaseException) -> None:
    assert classify(error) is None
    assert as_storage_unavailable(error) is None


def test_translate_passes_other_errors_through() -> None:
    with pytest.raises(ValueError, match="boom"), translate_storage_errors():
        raise ValueError("boom")
    with pytest.raises(StorageUnavailable) as raised, translate_storage_errors():
        raise exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))
    assert raised.value.reason is StorageFault.IO_ERROR
    assert isinstance(raised.value.__cause__, exc.OperationalError)


def test_connection_refused_is_connection_lost() -> None:
    engine = create_storage_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        with pytest.raises(StorageUnavailable) as raised, translate_storage_errors():
            engine.connect().close()
        assert raised.value.reason is StorageFault.CONNECTION_LOST
    finally:
        engine.dispose()


# -------------------------------------------------------- real faults per backend


def test_duplicate_order_is_not_a_storage_fault(engine: Engine) -> None:
    _insert(engine, "dup")
    with pytest.raises(repo.DuplicateOrderError):
        _insert(engine, "dup")


def test_read_only_database(engine: Engine, db_url: URL) -> None:
    _insert(engine, "before")
    engine.dispose()
    if db_url.get_backend_name() == "sqlite":
        read_only_url = make_url(f"sqlite:///file:{db_url.database}?mode=ro&uri=true")
    else:
        admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                text(f'ALTER DATABASE "{db_url.database}" SET default_transaction_read_only = on')
            )
        admin.dispose()
        read_only_url = db_url
    read_only = create_storage_engine(read_only_url)
    try:
        with read_only.connect() as connection:  # reading still works
            assert connection.execute(text("SELECT count(*) FROM orders")).scalar() == 1
        with pytest.raises(StorageUnavailable) as raised:
            _insert(read_only, "after")
        assert raised.value.reason is StorageFault.READ_ONLY
    finally:
        read_only.dispose()


@pytest.mark.skipif(os.name != "nt" and os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_permissions(tmp_path: Path) -> None:
    db_file = tmp_path / "ro.db"
    writable = create_storage_engine(f"sqlite:///{db_file.as_posix()}")
    migrate.upgrade(writable)
    _insert(writable, "before")
    writable.dispose()
    db_file.chmod(0o444)
    read_only = create_storage_engine(f"sqlite:///{db_file.as_posix()}")
    try:
        with pytest.raises(StorageUnavailable) as raised:
            _insert(read_only, "after")
        assert raised.value.reason in (StorageFault.READ_ONLY, StorageFault.CANNOT_OPEN)
    finally:
        read_only.dispose()
        db_file.chmod(0o644)


def test_locked_past_the_timeout(engine: Engine, db_url: URL) -> None:
    timeout_ms = 300
    impatient = create_storage_engine(db_url, busy_timeout_ms=timeout_ms)
    holder = create_storage_engine(db_url)
    _insert(engine, "seed")
    try:
        with holder.connect() as connection:
            if holder.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")  # takes the write lock
            else:
                connection.execute(text("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            with pytest.raises(StorageUnavailable) as raised:
                _insert(impatient, "blocked")
            waited_s = time.monotonic() - started
            connection.rollback()
        assert raised.value.reason is StorageFault.LOCKED
        assert waited_s >= 0.8 * timeout_ms / 1000  # it waited for the timeout first
        _insert(impatient, "after-release")  # and works once the lock is gone
    finally:
        impatient.dispose()
        holder.dispose()


def test_writer_waits_within_the_timeout(engine: Engine, db_url: URL) -> None:
    patient = create_storage_engine(db_url, busy_timeout_ms=5000)
    holder = create_storage_engine(db_url)
    try:
        with holder.connect() as connection:
            if holder.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.execute(text("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
            release = threading.Timer(0.3, connection.rollback)
            release.start()
            _insert(patient, "waited")  # blocks ~0.3 s, then succeeds
            release.join()
        with patient.connect() as check:
            assert check.execute(text("SELECT count(*) FROM orders")).scalar() == 1
    finally:
        patient.dispose()
        holder.dispose()


def test_sqlite_disk_full(tmp_path: Path) -> None:
    db_file = tmp_path / "full.db"
    setup = create_storage_engine(f"sqlite:///{db_file.as_posix()}")
    migrate.upgrade(setup)
    with setup.connect() as connection:
        pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar() or 0)
    setup.dispose()
    full = create_storage_engine(f"sqlite:///{db_file.as_posix()}")

    @event.listens_for(full, "connect")
    def _cap_size(dbapi_connection: Any, _record: Any) -> None:
        # SQLite's own size cap: past it, writes fail with SQLITE_FULL exactly as on a
        # full disk ("database or disk is full").
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 8}")

    try:
        with pytest.raises(StorageUnavailable) as raised:
            for index in range(500):
                _insert(full, f"fill-{index}", {"blob": "x" * 4000})
        assert raised.value.reason is StorageFault.DISK_FULL
        assert "full" in raised.value.detail
    finally:
        full.dispose()


def test_injected_disk_io_error(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("injects a SQLite driver error")

    def _fail_inserts(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            raise sqlite3.OperationalError("disk I/O error")

    event.listen(engine, "do_execute", _fail_inserts)
    try:
        with pytest.raises(StorageUnavailable) as raised:
            _insert(engine, "io")
        assert raised.value.reason is StorageFault.IO_ERROR
        assert isinstance(raised.value.__cause__, exc.OperationalError)
    finally:
        event.remove(engine, "do_execute", _fail_inserts)
    _insert(engine, "recovered")
