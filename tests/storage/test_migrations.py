"""Migrations: upgrade from empty, downgrade to base and back, no drift from the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from moonlight.core.storage import (
    migrate,
    models as _models,  # noqa: F401  (registers tables)
)
from moonlight.core.storage.base import Base

EXPECTED_TABLES = {
    "orders",
    "results",
    "features",
    "metrics",
    "instrument_cache",
    "paper_accounts",
    "paper_contracts",
    "engine_state",
    "alarms",
    "calibrations",
    "audit_log",
    "decisions",
    "runs",
    "models",
}


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_from_empty_creates_every_table(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    assert _tables(empty_engine) == set()
    reached = migrate.upgrade(empty_engine)
    assert reached == migrate.head_revision()
    assert migrate.is_up_to_date(empty_engine)
    assert _tables(empty_engine) == EXPECTED_TABLES
    assert set(Base.metadata.tables) >= EXPECTED_TABLES


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    assert migrate.downgrade(engine, "base") is None
    assert _tables(engine) == set()
    assert migrate.upgrade(engine) == migrate.head_revision()
    assert _tables(engine) == EXPECTED_TABLES
    assert _diff(engine) == []


def test_every_revision_steps_down_and_up_one_at_a_time(empty_engine: Engine) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [rev.revision for rev in script.walk_revisions("base", "heads")][::-1]
    assert revisions, "no revisions shipped"
    for revision in revisions:
        assert migrate.upgrade(empty_engine, revision) == revision
    for expected in [*revisions[-2::-1], None]:
        assert migrate.downgrade(empty_engine, "-1") == expected
    assert _tables(empty_engine) == set()


def test_autogenerate_finds_no_difference_from_models(engine: Engine) -> None:
    assert _diff(engine) == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    head = migrate.head_revision()
    assert migrate.upgrade(engine) == head
    assert migrate.upgrade(engine) == head
    assert _tables(engine) == EXPECTED_TABLES


def test_foreign_keys_are_back_on_after_migrating_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("foreign-key enforcement is a SQLite connection setting")
    # The migration switched enforcement off on one pooled connection; it must be on again
    # for every connection the pool hands out afterwards.
    connections = [engine.connect() for _ in range(3)]
    try:
        for connection in connections:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        for connection in connections:
            connection.close()
