"""Secrets (broker tokens, passwords): in the OS keyring, or the environment as fallback.

Config files never hold secrets; they name them (keys ending in ``_secret_name``) and
the code asks :func:`get_secret`. The keyring is Windows Credential Manager (DPAPI),
macOS Keychain or the Secret Service on Linux desktops. Headless servers without a
keyring set ``MOONLIGHT_SECRET_<NAME>`` in the service's environment instead.

**Plaintext keyrings are refused for storing.** Where no real keyring exists, the
``keyring`` library falls back to whatever backend is installed — typically
``keyrings.alt``'s file backends, which write secrets unencrypted (or weakly encrypted)
into the home directory. :func:`set_secret` refuses such a backend unless the operator
chose it explicitly (``allow_plaintext=True``, the CLI's ``--allow-plaintext-keyring``,
or ``MOONLIGHT_KEYRING_ALLOW_PLAINTEXT=1``); the environment variable is the
recommended route on a headless host. Reading is not restricted: a value already in
such a file is no more exposed by reading it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import fail

SERVICE = "moonlight"
ALLOW_PLAINTEXT_ENV = "MOONLIGHT_KEYRING_ALLOW_PLAINTEXT"
"""Set to ``1`` to let :func:`set_secret` store into a plaintext keyring anyway."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_PLAINTEXT_MODULES = ("keyrings.alt",)
"""Backends from these packages keep secrets in files readable by anyone with the home
directory (``keyrings.alt`` says so itself: "less secure")."""


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


def _storing_backend(backend: KeyringBackend) -> KeyringBackend:
    """The backend a write lands in (a chainer writes to its highest-priority one)."""
    chained = getattr(backend, "backends", None)
    if isinstance(chained, list) and chained:
        first = chained[0]
        if isinstance(first, KeyringBackend):
            return first
    return backend


def keyring_is_plaintext() -> bool:
    """True when the active keyring stores secrets in plain files (``keyrings.alt``)."""
    module = type(_storing_backend(keyring.get_keyring())).__module__
    return module.startswith(_PLAINTEXT_MODULES)


def plaintext_allowed() -> bool:
    """True when the environment opts in to plaintext keyrings (``…_ALLOW_PLAINTEXT=1``)."""
    return os.environ.get(ALLOW_PLAINTEXT_ENV, "").strip().lower() in ("1", "true", "yes")


def backend_description() -> str:
    """The active backend's class name, and where it writes when it is a file."""
    backend = _storing_backend(keyring.get_keyring())
    where = getattr(backend, "file_path", None)
    name = type(backend).__name__
    return f"{name} at {where}" if isinstance(where, str) else name


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


def set_secret(name: str, value: str, *, allow_plaintext: bool = False) -> str:
    """Store a secret in the keyring; returns the backend's description.

    Refuses a plaintext backend (see the module docstring) unless ``allow_plaintext``
    or :data:`ALLOW_PLAINTEXT_ENV` says the operator chose it.
    """
    _check_name(name)
    if not value:
        raise ValueError("refusing to store an empty secret")
    if not _keyring_usable():
        raise SecretStoreError(
            f"no OS keyring is available here; set the environment variable"
            f" {env_var_for(name)} for the MoonLight service instead"
        )
    if keyring_is_plaintext() and not allow_plaintext and not plaintext_allowed():
        raise SecretStoreError(
            f"the only keyring here ({backend_description()}) stores secrets unencrypted;"
            f" refusing to put {name!r} there. Set the environment variable"
            f" {env_var_for(name)} for the MoonLight service instead, install a real OS"
            " keyring, or choose the plaintext file knowingly with"
            f" --allow-plaintext-keyring ({ALLOW_PLAINTEXT_ENV}=1)"
        )
    try:
        keyring.set_password(SERVICE, name, value)
    except keyring.errors.KeyringError as exc:
        raise SecretStoreError(f"the keyring refused to store {name!r}: {exc}") from exc
    return backend_description()


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
