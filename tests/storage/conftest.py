"""Fixtures that run every storage test on each available backend.

SQLite always (a fresh file in ``tmp_path``); PostgreSQL when ``MOONLIGHT_TEST_PG_URL``
names a server (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``): each
test gets a fresh temporary database that is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from moonlight.core.storage import migrate
from moonlight.core.storage.engine import create_storage_engine, normalise_url, session_factory

PG_ENV = "MOONLIGHT_TEST_PG_URL"
PG_SKIP_REASON = "MOONLIGHT_TEST_PG_URL not set (no PostgreSQL)"
TEST_BUSY_TIMEOUT_MS = 5000

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def pg_admin_url() -> URL:
    """The server URL from the environment; skips the test when it is not set."""
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(PG_SKIP_REASON)
    return normalise_url(raw)


@pytest.fixture
def pg_database() -> Iterator[URL]:
    """A fresh PostgreSQL database for one test, dropped (forcibly) afterwards."""
    admin_url = pg_admin_url()
    name = f"moonlight_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.set(database=name)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the backend under test: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> URL:
    """URL of an empty database on the backend under test."""
    if backend == "sqlite":
        return make_url(f"sqlite:///{(tmp_path / 'data' / 'moonlight.db').as_posix()}")
    return request.getfixturevalue("pg_database")  # type: ignore[no-any-return]


@pytest.fixture
def empty_engine(db_url: URL) -> Iterator[Engine]:
    """Engine on an empty (never migrated) database."""
    engine = create_storage_engine(db_url, busy_timeout_ms=TEST_BUSY_TIMEOUT_MS)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """Engine on a database upgraded to the head revision."""
    migrate.upgrade(empty_engine)
    return empty_engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the migrated database, closed after the test."""
    with session_factory(engine)() as open_session:
        yield open_session
