"""Authentication before anything else: no route, no body parsing for anonymous callers.

FastAPI reads and validates a route's JSON body *before* its dependencies run, so with
authentication as a dependency an anonymous caller could make the server parse any
body it liked and learn from a 422 what the body should look like. This ASGI
middleware decides from the request head alone (see
:meth:`~moonlight.server.auth.Authenticator.authenticate`) and answers 401/403/429
before the body is read. The authenticated principal is put in ``scope["state"]``,
where the :func:`~moonlight.server.deps.require_auth` dependency finds it.

Protected: every HTTP request under ``/api/v1`` and ``/metrics``, except the login
itself (``POST /api/v1/session``, which checks its own credential after the lockout
check). Unknown paths under ``/api/v1`` are answered 401 too, so an anonymous caller
cannot even enumerate routes. The WebSocket authenticates in-band
(:mod:`moonlight.server.routes.ws`).
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from moonlight.server.auth import SESSION_COOKIE, Authenticator, Principal
from moonlight.server.responses import send_json_error

PRINCIPAL = "principal"
"""Key of the authenticated :class:`Principal` in the request's ``state``."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuthGate:
    """ASGI middleware: authenticate protected HTTP requests from their head."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: Authenticator,
        protected_prefixes: tuple[str, ...],
        public: Collection[tuple[str, str]],
    ) -> None:
        self.app = app
        self.auth = auth
        self.protected_prefixes = protected_prefixes
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._protected(scope):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        client = scope["client"][0] if scope.get("client") else "unknown"
        verdict = self.auth.authenticate(
            client,
            authorization=headers.get("authorization"),
            cookie=_cookie(headers.get("cookie", ""), SESSION_COOKIE),
            change_without_origin=method not in SAFE_METHODS and "origin" not in headers,
        )
        if isinstance(verdict, Principal):
            scope.setdefault("state", {})[PRINCIPAL] = verdict
            await self.app(scope, receive, send)
            return
        extra: list[tuple[bytes, bytes]] = []
        if verdict.status == 401:
            extra.append((b"www-authenticate", b"Bearer"))
        if verdict.retry_after_s is not None:
            extra.append((b"retry-after", str(verdict.retry_after_s).encode()))
        # close: a body the client may already be sending is never read
        await send_json_error(send, verdict.status, verdict.detail, close=True, headers=extra)

    def _protected(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if (scope["method"], path) in self.public:
            return False
        return any(
            path == prefix or path.startswith(prefix + "/") for prefix in self.protected_prefixes
        )


def _cookie(header: str, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header, or None."""
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None
