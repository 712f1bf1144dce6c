"""Tell "the store is unusable" apart from ordinary database errors.

A write that fails because the disk is full, the file is read-only, the disk returns an
I/O error, the database stays locked past the busy timeout or the server is gone means
the engine can no longer record what it does — so it must stop opening orders and raise
a critical alarm (issue: "it never trades unrecorded"). Such failures are converted to
:class:`StorageUnavailable`, carrying a :class:`StorageFault` reason. Everything else
(an integrity violation, a programming error) is left as it is.

Classification uses, in order: SQLite's extended error name (Python ≥ 3.11 exposes
``sqlite_errorname``), PostgreSQL's SQLSTATE (psycopg ``sqlstate``), the ``errno`` of an
``OSError``, and finally the message text, so drivers that give less still classify.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from sqlalchemy import exc as sa_exc


class StorageFault(StrEnum):
    """Why the store cannot be written (or read)."""

    DISK_FULL = "disk_full"
    IO_ERROR = "io_error"
    LOCKED = "locked"
    READ_ONLY = "read_only"
    CANNOT_OPEN = "cannot_open"
    CORRUPT = "corrupt"
    CONNECTION_LOST = "connection_lost"


class StorageUnavailable(Exception):
    """Storage cannot record what the engine does; stop trading and alarm.

    ``reason`` is the classified fault, ``detail`` the driver's own message.
    """

    def __init__(self, reason: StorageFault, detail: str) -> None:
        super().__init__(f"storage unavailable ({reason.value}): {detail}")
        self.reason = reason
        self.detail = detail


_SQLITE_NAMES: dict[str, StorageFault] = {
    "SQLITE_FULL": StorageFault.DISK_FULL,
    "SQLITE_IOERR": StorageFault.IO_ERROR,
    "SQLITE_BUSY": StorageFault.LOCKED,
    "SQLITE_LOCKED": StorageFault.LOCKED,
    "SQLITE_READONLY": StorageFault.READ_ONLY,
    "SQLITE_CANTOPEN": StorageFault.CANNOT_OPEN,
    "SQLITE_CORRUPT": StorageFault.CORRUPT,
    "SQLITE_NOTADB": StorageFault.CORRUPT,
    "SQLITE_PERM": StorageFault.READ_ONLY,
}

# SQLSTATE codes (exact) and classes (two-character prefix) of PostgreSQL.
_PG_CODES: dict[str, StorageFault] = {
    "53100": StorageFault.DISK_FULL,  # disk_full
    "58030": StorageFault.IO_ERROR,  # io_error
    "25006": StorageFault.READ_ONLY,  # read_only_sql_transaction (standby, read-only mode)
    "55P03": StorageFault.LOCKED,  # lock_not_available (lock_timeout expired)
    "57014": StorageFault.LOCKED,  # query_canceled (statement_timeout expired)
    "57P01": StorageFault.CONNECTION_LOST,  # admin_shutdown
    "57P02": StorageFault.CONNECTION_LOST,  # crash_shutdown
    "57P03": StorageFault.CONNECTION_LOST,  # cannot_connect_now
    "53300": StorageFault.CONNECTION_LOST,  # too_many_connections
    "XX001": StorageFault.CORRUPT,  # data_corrupted
    "XX002": StorageFault.CORRUPT,  # index_corrupted
}
_PG_CLASSES: dict[str, StorageFault] = {
    "08": StorageFault.CONNECTION_LOST,  # connection exception
    "53": StorageFault.DISK_FULL,  # insufficient resources (disk, memory)
    "58": StorageFault.IO_ERROR,  # system error (external to PostgreSQL)
}

_ERRNOS: dict[int, StorageFault] = {
    errno.ENOSPC: StorageFault.DISK_FULL,
    getattr(errno, "EDQUOT", errno.ENOSPC): StorageFault.DISK_FULL,
    errno.EIO: StorageFault.IO_ERROR,
    errno.EROFS: StorageFault.READ_ONLY,
    errno.EACCES: StorageFault.READ_ONLY,
    errno.EPERM: StorageFault.READ_ONLY,
}

# Message fragments, most specific first (SQLite's and PostgreSQL's English texts).
_MESSAGES: tuple[tuple[str, StorageFault], ...] = (
    ("database or disk is full", StorageFault.DISK_FULL),
    ("no space left on device", StorageFault.DISK_FULL),
    ("could not extend file", StorageFault.DISK_FULL),
    ("disk i/o error", StorageFault.IO_ERROR),
    ("input/output error", StorageFault.IO_ERROR),
    ("database is locked", StorageFault.LOCKED),
    ("database table is locked", StorageFault.LOCKED),
    ("readonly database", StorageFault.READ_ONLY),
    ("read-only", StorageFault.READ_ONLY),
    ("unable to open database file", StorageFault.CANNOT_OPEN),
    ("database disk image is malformed", StorageFault.CORRUPT),
    ("file is not a database", StorageFault.CORRUPT),
    ("server closed the connection", StorageFault.CONNECTION_LOST),
    ("connection refused", StorageFault.CONNECTION_LOST),
    ("the connection is closed", StorageFault.CONNECTION_LOST),
    ("terminating connection", StorageFault.CONNECTION_LOST),
)


def classify(error: BaseException) -> StorageFault | None:
    """The storage fault behind ``error`` (or its causes), or None if it is not one."""
    for candidate in _chain(error):
        fault = _classify_one(candidate)
        if fault is not None:
            return fault
    return None


def as_storage_unavailable(error: BaseException) -> StorageUnavailable | None:
    """``error`` converted to :class:`StorageUnavailable`, or None if it is not a fault."""
    if isinstance(error, StorageUnavailable):
        return error
    fault = classify(error)
    if fault is None:
        return None
    original = getattr(error, "orig", None) or error
    return StorageUnavailable(fault, str(original).strip() or type(original).__name__)


@contextmanager
def translate_storage_errors() -> Iterator[None]:
    """Re-raise storage faults inside the block as :class:`StorageUnavailable`.

    Other exceptions (integrity errors, bugs) pass through unchanged.
    """
    try:
        yield
    except (sa_exc.DBAPIError, OSError) as error:
        unavailable = as_storage_unavailable(error)
        if unavailable is None:
            raise
        raise unavailable from error


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield orig
            seen.add(id(orig))
        current = current.__cause__ or current.__context__


def _classify_one(error: BaseException) -> StorageFault | None:
    if isinstance(error, sa_exc.IntegrityError | sa_exc.ProgrammingError):
        return None
    name = getattr(error, "sqlite_errorname", None)
    if isinstance(name, str):
        base_name = name.split("_", 2)
        key = "_".join(base_name[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
        if key in _SQLITE_NAMES:
            return _SQLITE_NAMES[key]
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        if sqlstate in _PG_CODES:
            return _PG_CODES[sqlstate]
        if sqlstate[:2] in _PG_CLASSES:
            return _PG_CLASSES[sqlstate[:2]]
    if isinstance(error, OSError) and error.errno in _ERRNOS:
        return _ERRNOS[error.errno]
    if _is_driver_error(error):
        message = str(error).lower()
        for fragment, fault in _MESSAGES:
            if fragment in message:
                return fault
    return None


def _is_driver_error(error: BaseException) -> bool:
    """Only database errors are classified by message (never, say, a ValueError)."""
    if isinstance(error, sa_exc.DBAPIError | OSError):
        return True
    module = type(error).__module__
    return module.startswith(("sqlite3", "psycopg", "_sqlite3"))
