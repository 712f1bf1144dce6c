"""``moonlight db upgrade|downgrade|current``: manage the storage schema.

The database is the one the configuration names: ``storage.url`` (the environment's
``MOONLIGHT_STORAGE__URL`` wins over the file), else SQLite in ``data_dir``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import click
from alembic.util import CommandError
from sqlalchemy import Engine

from moonlight.core.config import ConfigError, load_config
from moonlight.core.storage import migrate
from moonlight.core.storage.engine import engine_from_config
from moonlight.core.storage.errors import StorageUnavailable, translate_storage_errors

_F = TypeVar("_F", bound=Callable[..., object])


def _config_option(function: _F) -> _F:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None,
        help="Configuration file (default: built-in defaults plus MOONLIGHT_* variables).",
    )(function)


@click.group("db")
def db_group() -> None:
    """Create, upgrade and inspect the MoonLight database schema."""


@db_group.command("upgrade")
@_config_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade_cmd(config_file: Path | None, revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest shipped)."""
    with _open(config_file) as (engine, where):
        before = migrate.current_revision(engine)
        after = migrate.upgrade(engine, revision)
    click.echo(f"{where}: {_name(before)} -> {_name(after)} (head {migrate.head_revision()})")


@db_group.command("downgrade")
@click.argument("revision")
@_config_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def downgrade_cmd(config_file: Path | None, revision: str, yes: bool) -> None:
    """Revert migrations down to REVISION (``base`` drops every MoonLight table)."""
    with _open(config_file) as (engine, where):
        before = migrate.current_revision(engine)
        if not yes:
            click.confirm(
                f"{where}: downgrade from {_name(before)} to {revision}? Data in dropped"
                " tables is lost",
                abort=True,
            )
        after = migrate.downgrade(engine, revision)
    click.echo(f"{where}: {_name(before)} -> {_name(after)}")


@db_group.command("current")
@_config_option
@click.option("--check", is_flag=True, help="Exit with status 1 unless at the newest revision.")
def current_cmd(config_file: Path | None, check: bool) -> None:
    """Show the database's revision and whether it is up to date."""
    with _open(config_file) as (engine, where):
        current = migrate.current_revision(engine)
    head = migrate.head_revision()
    status = "up to date" if current == head else "behind: run `moonlight db upgrade`"
    click.echo(f"{where}: {_name(current)} (head {head}, {status})")
    if check and current != head:
        raise SystemExit(1)


@contextmanager
def _open(config_file: Path | None) -> Iterator[tuple[Engine, str]]:
    """Engine for the configured database and a printable (password-free) URL."""
    try:
        config = load_config(config_file)
    except ConfigError as error:
        click.echo(f"{config_file or 'configuration'}: {len(error.issues)} problem(s)", err=True)
        for issue in error.issues:
            click.echo(f"  - {issue}", err=True)
        raise SystemExit(1) from None
    engine = engine_from_config(config)
    where = engine.url.render_as_string(hide_password=True)
    try:
        with translate_storage_errors():
            yield engine, where
    except StorageUnavailable as error:
        raise click.ClickException(f"{where}: {error}") from None
    except CommandError as error:
        raise click.ClickException(f"{where}: {error}") from None
    finally:
        engine.dispose()


def _name(revision: str | None) -> str:
    return revision if revision is not None else "empty"
