"""What the update needs from the database: open orders, the schema revision, and a
SQLite copy taken (and put back) with SQLite's online backup, consistent even while the
engine writes in WAL mode."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import func, inspect, select, text

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.storage import models
from moonlight.core.storage.engine import (
    create_storage_engine,
    normalise_url,
    sqlite_database_path,
)
from moonlight.core.storage.repository import NON_TERMINAL_STATES


def sqlite_file(config: MoonlightConfig) -> Path | None:
    """The SQLite database file, or None when the storage is PostgreSQL."""
    return sqlite_database_path(normalise_url(config.storage_url()))


def open_orders(url: str) -> int:
    """Orders not yet settled or failed (0 on an empty database)."""
    engine = create_storage_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(models.Order.__tablename__):
                return 0
            statement = select(func.count()).where(models.Order.state.in_(NON_TERMINAL_STATES))
            return int(connection.execute(statement).scalar_one())
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    """The Alembic revision the database is at (None: not created yet)."""
    engine = create_storage_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            value = connection.execute(text("select version_num from alembic_version")).scalar()
            return None if value is None else str(value)
    finally:
        engine.dispose()


def copy_sqlite(source: Path, destination: Path) -> None:
    """Copy a SQLite database page by page (online backup; the source may be in use)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    origin = sqlite3.connect(source)
    try:
        target = sqlite3.connect(destination)
        try:
            origin.backup(target)
        finally:
            target.close()
    finally:
        origin.close()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve().as_posix()}"
