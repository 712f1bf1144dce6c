"""``moonlight secrets set|delete|check NAME``: secrets in the OS keyring."""

from __future__ import annotations

import sys

import click

from moonlight.core.secrets import SecretStoreError, delete_secret, env_var_for, get_secret
from moonlight.core.secrets import set_secret as store_secret


@click.group("secrets")
def secrets_group() -> None:
    """Store broker credentials in the OS keyring (never in config files)."""


@secrets_group.command("set")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from standard input.")
def set_cmd(name: str, from_stdin: bool) -> None:
    """Store secret NAME; the value is prompted for (hidden) or read from stdin."""
    if from_stdin:
        value = sys.stdin.read().rstrip("\r\n")
    else:
        value = click.prompt(f"value for {name}", hide_input=True, confirmation_prompt=True)
    try:
        backend = store_secret(name, value)
    except (SecretStoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"stored {name!r} in the keyring ({backend})")


@secrets_group.command("delete")
@click.argument("name")
def delete_cmd(name: str) -> None:
    """Remove secret NAME from the keyring."""
    try:
        removed = delete_secret(name)
    except (SecretStoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if not removed:
        raise click.ClickException(f"no secret named {name!r} in the keyring")
    click.echo(f"deleted {name!r}")


@secrets_group.command("check")
@click.argument("name")
def check_cmd(name: str) -> None:
    """Say whether secret NAME is available (never prints its value)."""
    try:
        found = get_secret(name) is not None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not found:
        raise click.ClickException(f"secret {name!r} is not set (keyring or {env_var_for(name)})")
    click.echo(f"secret {name!r} is available")
