"""Host and Origin checks on every request, and the security headers of every response.

* **Host** (DNS-rebinding protection): the ``Host`` header must name localhost,
  127.0.0.1, ::1 or a host listed in ``plugins.server.allowed_hosts``; anything else is
  answered 403 before routing. A rebinding attack arrives with the attacker's own host
  name, so it is refused even though it reaches the loopback socket.
* **Origin** (CSRF and cross-site WebSocket hijacking protection): when a browser sends
  ``Origin`` it must be this server's own origin (an allowed host, and the bound port
  once known); ``Origin: null`` is refused. A browser also sending ``Sec-Fetch-Site:
  cross-site`` is refused except for top-level navigation (following a link to the
  dashboard). Requests without ``Origin`` come from non-browser clients, which need the
  bearer token anyway; cookie-authenticated state changes additionally require an
  ``Origin`` (see :mod:`moonlight.server.deps`).

Implemented as plain ASGI middleware (no per-request task or body buffering), so it
costs a few microseconds per request and covers WebSocket handshakes too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moonlight.server.responses import SECURITY_HEADERS, send_json_error

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self' ws://{host} wss://{host}; frame-ancestors 'none'; base-uri 'none';"
    " form-action 'self'; object-src 'none'"
)


def split_host(value: str) -> tuple[str, int | None]:
    """``"[::1]:8765"`` → ``("::1", 8765)``; ``"localhost"`` → ``("localhost", None)``."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    else:
        host, port_text = value, ""
    try:
        port = int(port_text) if port_text else None
    except ValueError:
        return "", None
    return host, port


class RequestGuard:
    """ASGI middleware: refuse foreign Host/Origin with 403, add security headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        extra_hosts: Iterable[str] = (),
        bound_port: Callable[[], int | None] = lambda: None,
    ) -> None:
        self.app = app
        self.hosts = LOOPBACK_HOSTS | {h.strip().lower() for h in extra_hosts if h.strip()}
        self.bound_port = bound_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host_header = headers.get("host", "")
        problem = self.problem(headers, kind, scope.get("method", "GET"))
        if problem is not None:
            await _refuse(kind, problem, receive, send)
            return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        extra = (
            *SECURITY_HEADERS,
            (b"content-security-policy", _CSP.format(host=host_header).encode("latin-1")),
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def problem(self, headers: dict[str, str], kind: str, method: str) -> str | None:
        """Why the request is refused, or None when Host and Origin are acceptable."""
        host, _ = split_host(headers.get("host", ""))
        if host not in self.hosts:
            return "host not allowed"
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin):
            return "origin not allowed"
        site = headers.get("sec-fetch-site")
        if site == "cross-site" and (
            kind == "websocket" or headers.get("sec-fetch-mode") != "navigate" or method != "GET"
        ):
            return "cross-site request"
        return None

    def origin_allowed(self, origin: str) -> bool:
        """Same-origin only: http(s), an allowed host, and the bound port when known."""
        try:
            parts = urlsplit(origin)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or (parts.hostname or "") not in self.hosts:
            return False
        bound = self.bound_port()
        if bound is None:
            return True
        return (port or (443 if parts.scheme == "https" else 80)) == bound


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


async def _refuse(kind: str, reason: str, receive: Receive, send: Send) -> None:
    if kind == "websocket":
        message = await receive()  # websocket.connect
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008, "reason": reason})
        return
    await send_json_error(send, 403, f"forbidden: {reason}")
