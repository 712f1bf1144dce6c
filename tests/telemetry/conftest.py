"""Fixtures for the telemetry tests: installed logging, a migrated SQLite store."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.storage import migrate
from moonlight.core.storage.engine import create_storage_engine, session_factory
from moonlight.core.telemetry import logging_setup
from moonlight.core.telemetry.pii import clear_sensitive


@pytest.fixture
def console() -> io.StringIO:
    """The stream the console handler writes to."""
    return io.StringIO()


@pytest.fixture
def logs(tmp_path: Path, console: io.StringIO) -> Iterator[logging_setup.LoggingSetup]:
    """MoonLight logging into ``tmp_path/logs``, removed again after the test."""
    setup = logging_setup.configure_logging(tmp_path, level="DEBUG", console_stream=console)
    try:
        yield setup
    finally:
        logging_setup.teardown_logging()
        clear_sensitive()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite file migrated to the shipped head revision."""
    engine = create_storage_engine(f"sqlite:///{(tmp_path / 'moonlight.db').as_posix()}")
    migrate.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sessions(db: Engine) -> sessionmaker[Session]:
    """Sessions on the migrated store."""
    return session_factory(db)
