"""Apply, revert and inspect MoonLight's schema migrations from code.

Used at engine start-up (:func:`upgrade` to head before anything reads or writes) and by
``moonlight db``. The Alembic configuration is built here, pointing at the migrations
shipped in this package, so no ``alembic.ini`` is needed at run time.

On SQLite, foreign-key enforcement is switched off for the duration of a migration (batch
operations copy and re-create tables; with enforcement on, dropping the old table would
fire ``ON DELETE`` actions) and the whole database is checked with
``PRAGMA foreign_key_check`` before it is switched back on. On PostgreSQL an advisory
lock serialises hosts that start at the same time against one shared database.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from moonlight.core.config import MoonlightConfig
from moonlight.core.storage.engine import engine_from_config
from moonlight.core.storage.errors import translate_storage_errors

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x4D4F4F4E  # "MOON": advisory lock id held while migrating


class MigrationError(RuntimeError):
    """A migration left the database inconsistent (e.g. foreign keys violated)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the shipped migrations, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of MoonLight."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("no migrations shipped")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    """True when the database is at the shipped head revision."""
    return current_revision(engine) == head_revision()


def prepare_storage(config: MoonlightConfig) -> Engine:
    """Start-up: the configured engine, with the schema upgraded to head.

    Raises :class:`~moonlight.core.storage.errors.StorageUnavailable` when the database
    cannot be reached or written; the engine must not start trading then.
    """
    engine = engine_from_config(config)
    try:
        with translate_storage_errors():
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade the database to ``revision`` (default: head); return the revision reached."""
    _run(engine, lambda config: command.upgrade(config, revision))
    return current_revision(engine)


def downgrade(engine: Engine, revision: str) -> str | None:
    """Downgrade the database to ``revision`` (``base`` empties it); return where it is."""
    _run(engine, lambda config: command.downgrade(config, revision))
    return current_revision(engine)


def _run(engine: Engine, action: Callable[[Config], None]) -> None:
    with engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            connection.commit()
        elif dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            connection.commit()
        try:
            action(alembic_config(connection))
            connection.commit()
            if dialect == "sqlite":
                violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if violations:
                    raise MigrationError(f"foreign keys violated after migration: {violations}")
        finally:
            if connection.in_transaction():
                connection.rollback()
            if dialect == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                connection.commit()
            elif dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
                connection.commit()
