"""Which URLs the Deriv connector may contact: an allowlist of hosts, checked every time.

The seed asks for "only permitted endpoints". Every URL the connector would open -- the
configured WebSocket endpoint, the REST base of the new API, and the one-time WebSocket
URL that the OTP endpoint *returns* -- passes :func:`check_url` before a socket is
opened. A host that is not listed is refused with :class:`EndpointNotAllowed`, whose
message names the host and the allowlist, so a typo or a hostile redirect is obvious.

Plain ``ws://`` / ``http://`` is accepted only for loopback hosts (the test suite's fake
server on 127.0.0.1); anything that leaves the machine must use TLS.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

#: Hosts of Deriv's documented APIs (legacy v3 WebSocket and the new options API).
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    "ws.derivws.com",
    "ws.binaryws.com",
    "blue.derivws.com",
    "green.derivws.com",
    "api.derivws.com",
)

LOOPBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})

_SECURE = {"ws": "wss", "http": "https"}


class EndpointNotAllowed(ValueError):
    """A URL names a host outside ``allowed_hosts`` (or an insecure scheme)."""


def url_host(url: str) -> str:
    """The lower-cased host of ``url`` (no port); empty when there is none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def check_url(url: str, allowed_hosts: Sequence[str], *, purpose: str, kind: str) -> str:
    """Return ``url`` when its host is allowed; raise :class:`EndpointNotAllowed` if not.

    ``kind`` is ``"ws"`` or ``"http"``: the secure scheme (``wss``/``https``) is always
    accepted, the plain one only for loopback hosts.
    """
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise EndpointNotAllowed(f"{purpose}: {url!r} is not a valid URL ({error})") from error
    scheme = parts.scheme.lower()
    host = url_host(url)
    if not host:
        raise EndpointNotAllowed(f"{purpose}: {url!r} has no host")
    allowed = {h.lower() for h in allowed_hosts}
    if host not in allowed:
        raise EndpointNotAllowed(
            f"{purpose}: host {host!r} is not in allowed_hosts {sorted(allowed)}; the"
            f" connector only contacts listed hosts (Deriv's documented hosts are"
            f" {list(DEFAULT_ALLOWED_HOSTS)})"
        )
    secure = _SECURE[kind]
    if scheme == secure:
        return url
    if scheme == kind and host in LOOPBACK_HOSTS:
        return url
    raise EndpointNotAllowed(
        f"{purpose}: scheme {scheme!r} refused for {host!r}; use {secure}:// (plain {kind}://"
        " is only accepted for loopback test servers)"
    )
