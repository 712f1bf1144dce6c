"""A keyring backend for tests only: secrets in a dict, never on disk, never the OS's.

Tests install it with :func:`installed` (it is never registered as an entry point, so
``keyring`` cannot pick it by itself): ``with installed() as backend: ...``. The
backend reports itself as encrypted storage would — it is not ``keyrings.alt`` — so
``moonlight secrets set`` accepts it, exactly as it accepts a real OS keyring.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Secrets held in this process's memory, per (service, user name)."""

    priority = 1  # type: ignore[assignment]  # never chosen automatically: not registered

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.values.pop((service, username), None) is None:
            raise PasswordDeleteError(f"{username!r} is not stored")


@contextlib.contextmanager
def installed(backend: KeyringBackend | None = None) -> Iterator[KeyringBackend]:
    """Make ``backend`` (a fresh :class:`MemoryKeyring` by default) the active keyring."""
    chosen = backend if backend is not None else MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(chosen)
    try:
        yield chosen
    finally:
        keyring.set_keyring(previous)
