"""Secrets (broker tokens, passwords): in the OS keyring, or the environment as fallback.

Config files never hold secrets; they name them (keys ending in ``_secret_name``) and
the code asks :func:`get_secret`. The keyring is Windows Credential Manager (DPAPI),
macOS Keychain or the Secret Service on Linux desktops. Headless servers without a
keyring set ``MOONLIGHT_SECRET_<NAME>`` in the service's environment instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping

import keyring
import keyring.errors
from keyring.backends import fail

SERVICE = "moonlight"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class SecretStoreError(RuntimeError):
    """The keyring cannot store or delete secrets here; the message says what to do."""


def env_var_for(name: str) -> str:
    """The environment variable that can hold secret ``name`` (fallback)."""
    return "MOONLIGHT_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"secret name {name!r} must be letters, digits, _ . - (max 128)")


def _keyring_usable() -> bool:
    return not isinstance(keyring.get_keyring(), fail.Keyring)


def get_secret(name: str) -> str | None:
    """The secret's value from the keyring, else the environment, else None."""
    _check_name(name)
    if _keyring_usable():
        try:
            value = keyring.get_password(SERVICE, name)
        except keyring.errors.KeyringError:
            value = None
        if value is not None:
            return value
    return os.environ.get(env_var_for(name))


def set_secret(name: str, value: str) -> str:
    """Store a secret in the keyring; returns the backend's name."""
    _check_name(name)
    if not value:
        raise ValueError("refusing to store an empty secret")
    if not _keyring_usable():
        raise SecretStoreError(
            f"no OS keyring is available here; set the environment variable"
            f" {env_var_for(name)} for the MoonLight service instead"
        )
    try:
        keyring.set_password(SERVICE, name, value)
    except keyring.errors.KeyringError as exc:
        raise SecretStoreError(f"the keyring refused to store {name!r}: {exc}") from exc
    return type(keyring.get_keyring()).__name__


def delete_secret(name: str) -> bool:
    """Remove a secret from the keyring; False when it was not there."""
    _check_name(name)
    if not _keyring_usable():
        raise SecretStoreError(
            f"no OS keyring is available here; unset {env_var_for(name)} instead"
        )
    try:
        keyring.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        return False
    return True


class SecretsView(Mapping[str, str]):
    """Read-only secrets by name for connector factories; values are fetched on access.

    Iterating lists nothing: the keyring cannot be enumerated, and a plugin has no
    business listing secrets it was not told about.
    """

    def __getitem__(self, name: str) -> str:
        value = get_secret(name)
        if value is None:
            raise KeyError(
                f"secret {name!r} is not set: `moonlight secrets set {name}` or {env_var_for(name)}"
            )
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
