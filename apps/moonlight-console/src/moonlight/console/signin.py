"""What the operator typed at sign-in, and the token remembered in the OS keyring.

The sign-in field takes either the one-time link the server prints at start
(``http://127.0.0.1:8765/login#<code>``: it names the server and carries the code) or
the API token itself (the contents of ``<data_dir>/api-token``). :func:`parse_sign_in`
tells them apart; nothing is sent anywhere here.

:class:`TokenKeyring` keeps a token per server address in the OS keyring (Windows
Credential Manager, macOS Keychain, Secret Service on Linux) under the service name
``moonlight-console``. Where no keyring backend exists it says so instead of failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import keyring
import keyring.errors

from moonlight.console.api import origin_of

KEYRING_SERVICE = "moonlight-console"
DEFAULT_SERVER = "http://127.0.0.1:8765"
_SECRET = re.compile(r"^[A-Za-z0-9_\-.~+/=]{8,256}$")


class SignInError(ValueError):
    """The sign-in text is neither a login link nor a plausible token."""


@dataclass(frozen=True, slots=True)
class SignIn:
    """A server address with exactly one of a one-time login code or the API token."""

    server: str
    code: str | None = None
    token: str | None = None


def parse_sign_in(text: str, server: str = DEFAULT_SERVER) -> SignIn:
    """A login link (its own server address wins) or a token for ``server``."""
    value = text.strip()
    if not value:
        raise SignInError("paste the login link printed by the server, or the API token")
    if value.startswith(("http://", "https://")):
        address, hashmark, code = value.partition("#")
        if not hashmark or not address.rstrip("/").endswith("/login") or not code:
            raise SignInError("a login link looks like http://127.0.0.1:8765/login#<code>")
        if not _SECRET.match(code):
            raise SignInError("the code after '#' in the login link is not valid")
        return SignIn(server=_address(address.rstrip("/").removesuffix("/login")), code=code)
    if not _SECRET.match(value):
        raise SignInError("that is not an API token (it has spaces or other characters)")
    return SignIn(server=_address(server), token=value)


def parse_server(text: str) -> str:
    """A server address as ``scheme://host:port``; SignInError when it is not one."""
    return _address(text)


def _address(text: str) -> str:
    try:
        return origin_of(text.strip())
    except ValueError as error:
        raise SignInError(str(error)) from None


class TokenKeyring:
    """API tokens per server address in the OS keyring (``backend`` for tests)."""

    def __init__(self, backend: Any = None) -> None:
        self._backend = backend

    def _keyring(self) -> Any:
        return self._backend if self._backend is not None else keyring.get_keyring()

    def load(self, server: str) -> str | None:
        """The remembered token, or None (also when no keyring is available)."""
        try:
            found = self._keyring().get_password(KEYRING_SERVICE, origin_of(server))
        except keyring.errors.KeyringError:
            return None
        return found if isinstance(found, str) and found else None

    def save(self, server: str, token: str) -> str | None:
        """Remember ``token``; None on success, else why it could not be stored."""
        try:
            self._keyring().set_password(KEYRING_SERVICE, origin_of(server), token)
        except keyring.errors.KeyringError as error:
            return f"the OS keyring is not available: {error}"
        return None

    def forget(self, server: str) -> None:
        """Remove the remembered token (nothing happens when there is none)."""
        try:
            self._keyring().delete_password(KEYRING_SERVICE, origin_of(server))
        except keyring.errors.KeyringError:
            return
