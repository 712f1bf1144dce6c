"""Alembic environment: runs MoonLight's revisions on the connection it is given.

:mod:`moonlight.core.storage.migrate` puts an open SQLAlchemy connection in
``config.attributes["connection"]``; without one (a developer running the ``alembic``
command by hand), the URL in ``sqlalchemy.url`` is used. Offline (``--sql``) mode is
not supported: MoonLight always migrates a live database.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlalchemy.types import TypeDecorator

from moonlight.core.storage import models as _models  # noqa: F401  (registers the tables)
from moonlight.core.storage.base import Base
from moonlight.core.storage.engine import create_storage_engine

target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render MoonLight's custom column types as their plain SQLAlchemy implementation.

    Revisions then depend on SQLAlchemy only, never on the current models module.
    """
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def configure_and_run(connection: Connection) -> None:
    """Configure the migration context on ``connection`` and run the revisions."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Use the connection handed over by migrate.py, or open one from sqlalchemy.url."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set")
    engine = create_storage_engine(url)
    try:
        with engine.connect() as fresh:
            configure_and_run(fresh)
            fresh.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("MoonLight migrations run online only (no --sql mode)")
run_online()
