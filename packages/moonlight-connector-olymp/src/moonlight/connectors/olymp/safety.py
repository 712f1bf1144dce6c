"""Safety rails: only allow-listed endpoints, and no real-money order without consent.

The seed asks for "only permitted endpoints". Every URL the connector would contact is
checked here — when the configuration is validated and again just before a socket or
HTTP request is opened — so a typo, a phishing mirror or an injected URL fails with a
clear error instead of receiving the user's token. Plain ``ws://``/``http://`` is only
accepted for loopback hosts (the test suite's fake server); anything else must be TLS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from moonlight.core.connectors.contract import Rejected

#: Hosts the public clients of the brief talk to (2.1 and 2.2).
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    "ws.olymptrade.com",
    "api.olymptrade.com",
    "gw.olymptrade.com",
    "olymptrade.com",
)

_PLAIN_FOR_TLS = {"wss": "ws", "https": "http"}


class ForbiddenEndpoint(ValueError):
    """A URL names a host outside the allowlist (or uses plain text off loopback)."""


class RealAccountRefused(Rejected):
    """A real-money order without ``allow_real_account: true``; nothing was sent."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(
    url: str, allowed_hosts: Iterable[str], *, purpose: str, schemes: tuple[str, ...]
) -> str:
    """Return ``url`` if its host is allow-listed and its scheme acceptable, else raise.

    ``schemes`` are the TLS schemes accepted anywhere (``wss``, ``https``); their plain
    counterparts are accepted for loopback hosts only.
    """
    allowed = sorted({h.strip().lower() for h in allowed_hosts})
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise ForbiddenEndpoint(f"{purpose} {url!r} has no host")
    if host not in allowed:
        raise ForbiddenEndpoint(
            f"{purpose} host {host!r} is not in allowed_hosts {allowed}: the Olymp connector"
            " only contacts listed hosts (add a host there only if you trust it with your"
            " token)"
        )
    plain = {_PLAIN_FOR_TLS[s] for s in schemes if s in _PLAIN_FOR_TLS}
    if parts.scheme in schemes or (parts.scheme in plain and is_loopback(host)):
        return url
    raise ForbiddenEndpoint(
        f"{purpose} {url!r}: scheme {parts.scheme!r} not allowed (use {' or '.join(schemes)};"
        " plain text only to a loopback host)"
    )


def refuse_real(account_id: str, group: str, *, allowed: bool) -> None:
    """Raise :class:`RealAccountRefused` for a real-money account without consent."""
    if group == "real" and not allowed:
        raise RealAccountRefused(
            f"account {account_id} is a REAL-money account and allow_real_account is false:"
            " order refused before sending (Olymp Trade's client agreement reportedly"
            " forbids automated trading; see the connector's README)"
        )
