"""``moonlight secrets set|delete|check NAME``: secrets in the OS keyring."""

from __future__ import annotations

import sys

import click

from moonlight.core.secrets import (
    ALLOW_PLAINTEXT_ENV,
    SecretStoreError,
    delete_secret,
    env_var_for,
    get_secret,
    keyring_is_plaintext,
    set_secret as store_secret,
)


@click.group("secrets")
def secrets_group() -> None:
    """Store broker credentials in the OS keyring (never in config files)."""


@secrets_group.command("set")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from standard input.")
@click.option(
    "--allow-plaintext-keyring",
    "allow_plaintext",
    is_flag=True,
    help="Store even when the only keyring keeps secrets in a plain file (keyrings.alt);"
    f" also {ALLOW_PLAINTEXT_ENV}=1. Prefer MOONLIGHT_SECRET_<NAME> on headless hosts.",
)
def set_cmd(name: str, from_stdin: bool, allow_plaintext: bool) -> None:
    """Store secret NAME; the value is prompted for (hidden) or read from stdin."""
    if from_stdin:
        value = sys.stdin.read().rstrip("\r\n")
    else:
        value = click.prompt(f"value for {name}", hide_input=True, confirmation_prompt=True)
    try:
        backend = store_secret(name, value, allow_plaintext=allow_plaintext)
    except (SecretStoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"stored {name!r} in the keyring ({backend})")
    if keyring_is_plaintext():
        click.echo(
            f"warning: this keyring stores {name!r} UNENCRYPTED; anyone who can read the"
            " file can read the secret",
            err=True,
        )


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
