"""``moonlight config check FILE``: validate a configuration, report every problem."""

from __future__ import annotations

from pathlib import Path

import click

from moonlight.core.config import ConfigError, load_config
from moonlight.core.plugins import build_plugin_host


@click.group("config")
def config_group() -> None:
    """Inspect and validate configuration."""


@config_group.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def check(file: Path) -> None:
    """Validate FILE (with the environment's overrides) against the installed plugins."""
    host = build_plugin_host()
    try:
        config = load_config(file, registry=host.registry)
    except ConfigError as exc:
        click.echo(f"{file}: {len(exc.issues)} problem(s)", err=True)
        for issue in exc.issues:
            click.echo(f"  - {issue}", err=True)
        for broken in host.broken():
            click.echo(
                f"  note: plugin {broken.name!r} ({broken.distribution}) failed to load:"
                f" {broken.error}",
                err=True,
            )
        raise SystemExit(1) from None
    accounts = ", ".join(f"{a.id} ({a.mode})" for a in config.accounts) or "none"
    click.echo(f"{file}: OK -- accounts: {accounts}; storage: {config.storage_url()}")
