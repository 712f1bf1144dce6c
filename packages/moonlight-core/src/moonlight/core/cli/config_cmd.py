"""``moonlight config check FILE``: validate a configuration, report every problem."""

from __future__ import annotations

from pathlib import Path

import click

from moonlight.core.cli.loading import load_or_exit


@click.group("config")
def config_group() -> None:
    """Inspect and validate configuration."""


@config_group.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def check(file: Path) -> None:
    """Validate FILE (with the environment's overrides) against the installed plugins."""
    config, _ = load_or_exit(file)
    accounts = ", ".join(f"{a.id} ({a.mode})" for a in config.accounts) or "none"
    click.echo(f"{file}: OK -- accounts: {accounts}; storage: {config.storage_url()}")


@config_group.command("reference")
def reference() -> None:
    """Print the configuration reference (Markdown), generated from the models."""
    from moonlight.core.config.reference import render_markdown

    click.echo(render_markdown(), nl=False)
