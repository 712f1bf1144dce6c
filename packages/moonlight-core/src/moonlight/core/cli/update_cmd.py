"""``moonlight update check | apply | rollback CONFIG``: side-by-side updates.

The machinery (:mod:`moonlight.core.update`) is imported when a command runs, not when
the CLI starts. Exit codes: 0 updated (or nothing to do), 1 a step failed (nothing was
switched, or it was rolled back), 3 deferred (orders open, or a backup to take first),
4 the new version failed and was rolled back automatically.
"""

from __future__ import annotations

from pathlib import Path

import click

from moonlight.core.cli.loading import load_base_or_exit
from moonlight.core.cli.overrides_cmd import CONFIG_ARGUMENT as _CONFIG


@click.group("update")
def update_group() -> None:
    """Find, apply and roll back updates of MoonLight and its plugins."""


@update_group.command("check")
@_CONFIG
def check_cmd(config_file: Path) -> None:
    """List the installed distributions the configured index has newer versions of."""
    from moonlight.core.update.errors import UpdateError
    from moonlight.core.update.procedure import check

    config, _ = load_base_or_exit(config_file)
    try:
        candidates = check(config)
    except UpdateError as error:
        raise click.ClickException(str(error)) from None
    for candidate in candidates:
        click.echo(f"{candidate.name} {candidate.installed} -> {candidate.latest}")
    if not candidates:
        click.echo("up to date")


@update_group.command("apply")
@_CONFIG
@click.option(
    "--bundle",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Switch to this bundle folder instead of building an environment from the index.",
)
@click.option(
    "--scheduled", is_flag=True, help="Only if update.schedule is enabled and an attempt is due."
)
@click.option(
    "--postgres-backup-done",
    is_flag=True,
    help="You took a pg_dump: allow an update that migrates a PostgreSQL schema.",
)
def apply_cmd(
    config_file: Path, bundle: Path | None, scheduled: bool, postgres_backup_done: bool
) -> None:
    """Prepare, check and switch to the newest version; roll back if it is unhealthy."""
    from moonlight.core.update.errors import UpdateError
    from moonlight.core.update.procedure import Updater

    config, _ = load_base_or_exit(config_file)
    try:
        updater = Updater(config, config_file, click.echo)
        if scheduled and (reason := updater.due()) is not None:
            click.echo(f"not applying: {reason}")
            return
        outcome = updater.apply(bundle, postgres_backup_done=postgres_backup_done)
    except UpdateError as error:
        raise click.ClickException(str(error)) from None
    click.echo(outcome.message)
    if outcome.code:
        raise SystemExit(outcome.code)


@update_group.command("rollback")
@_CONFIG
@click.option(
    "--restore-backup",
    is_flag=True,
    help="Restore the database copy taken before the update's migration (what was recorded"
    " since is lost) instead of downgrading the schema with the newer version.",
)
def rollback_cmd(config_file: Path, restore_backup: bool) -> None:
    """Switch back to the previous version."""
    from moonlight.core.update.errors import UpdateError
    from moonlight.core.update.procedure import Updater

    config, _ = load_base_or_exit(config_file)
    try:
        outcome = Updater(config, config_file, click.echo).rollback(restore_backup=restore_backup)
    except UpdateError as error:
        raise click.ClickException(str(error)) from None
    click.echo(outcome.message)
