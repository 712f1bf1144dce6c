"""Create the SQLAlchemy engine for a storage URL, tuned per backend.

SQLite (the embedded default) gets, on every new DB-API connection: WAL journal (readers
never wait for the writer), ``foreign_keys=ON``, ``synchronous=NORMAL`` (durable at
every checkpoint, safe against application crashes in WAL mode) and a ``busy_timeout``
from ``storage.busy_timeout_ms`` so a writer waits for another writer instead of failing
at once. The directory of the database file is created if missing.

PostgreSQL is chosen by URL; a bare ``postgresql://`` is pointed at psycopg 3
(``postgresql+psycopg://``), the driver MoonLight ships with. There the same
``busy_timeout_ms`` becomes the session's ``lock_timeout``: a write that waits longer for
a row or table lock fails instead of hanging the executor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.config import MoonlightConfig

DEFAULT_BUSY_TIMEOUT_MS = 5000


def normalise_url(url: str | URL) -> URL:
    """Parse ``url`` and pick MoonLight's driver where the URL leaves it open."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_database_path(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory or non-SQLite URLs."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_storage_engine(
    url: str | URL,
    *,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    data_dir: Path | None = None,
    echo: bool = False,
) -> Engine:
    """An engine for ``url``: SQLite pragmas installed, directories created.

    ``data_dir`` (when given) is created even if the database lives elsewhere, since the
    engine's other files (logs, API token) go there.
    """
    parsed = normalise_url(url)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        db_path = sqlite_database_path(parsed)
        if db_path is not None:
            db_path.parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000.0}
        engine = create_engine(parsed, **kwargs)
        _install_sqlite_pragmas(engine, busy_timeout_ms)
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
        if parsed.drivername == "postgresql+psycopg":
            # The same bound as SQLite's busy timeout: a write waiting longer than this
            # for a lock fails (SQLSTATE 55P03) and is classified as "locked".
            kwargs["connect_args"] = {"options": f"-c lock_timeout={int(busy_timeout_ms)}"}
    return create_engine(parsed, **kwargs)


def engine_from_config(config: MoonlightConfig, *, echo: bool = False) -> Engine:
    """The engine for a loaded configuration (``storage.url`` or SQLite in ``data_dir``)."""
    return create_storage_engine(
        config.storage_url(),
        busy_timeout_ms=config.storage.busy_timeout_ms,
        data_dir=config.data_dir,
        echo=echo,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def _install_sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    timeout_ms = int(busy_timeout_ms)

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL itself may wait for another connection.
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()
