"""``moonlight overrides show|clear CONFIG``: the runtime overrides, engine running or not.

Overrides are set through the API and apply at the next start. When stored overrides
make that start fail, the API that set them is not running — these commands work on
the storage named by the config file directly, with no engine and no server.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from moonlight.core.cli.loading import load_base_or_exit
from moonlight.core.config.runtime_overrides import offline_store
from moonlight.core.storage.errors import StorageUnavailable

CONFIG_ARGUMENT = click.argument(
    "config_file", type=click.Path(path_type=Path, dir_okay=False, exists=True)
)


@click.group("overrides")
def overrides_group() -> None:
    """Show or clear the runtime overrides stored through the API."""


@overrides_group.command("show")
@CONFIG_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the override tree as JSON.")
def show_cmd(config_file: Path, as_json: bool) -> None:
    """Print the overrides stored in CONFIG's storage (applied at the next start)."""
    config, host = load_base_or_exit(config_file)
    try:
        with offline_store(config, host.registry) as store:
            stored = store.current() if store is not None else None
    except StorageUnavailable as error:
        raise click.ClickException(f"storage unavailable: {error}") from None
    if as_json:
        click.echo(json.dumps(stored.overrides if stored else {}, indent=2, sort_keys=True))
    elif stored is None or not stored.overrides:
        click.echo("no runtime overrides stored")
    else:
        click.echo(f"runtime overrides: {stored.describe()}")
        click.echo(json.dumps(stored.overrides, indent=2, sort_keys=True))


@overrides_group.command("clear")
@CONFIG_ARGUMENT
@click.option(
    "--operator",
    default=None,
    help="Who clears them, for the audit log (default: the logged-in user).",
)
def clear_cmd(config_file: Path, operator: str | None) -> None:
    """Remove every stored override (audited); the next start uses CONFIG as written."""
    config, host = load_base_or_exit(config_file)
    who = (operator or getpass.getuser()).strip()
    if not who:
        raise click.ClickException("--operator must name who clears the overrides")
    try:
        with offline_store(config, host.registry) as store:
            if store is None or not store.current().overrides:
                click.echo("no runtime overrides stored; nothing to clear")
                return
            previous = store.current()
            store.replace({}, operator=who)
    except StorageUnavailable as error:
        raise click.ClickException(f"storage unavailable: {error}") from None
    click.echo(f"cleared runtime overrides: {previous.describe()}")
