"""Who may call the API: the API token, dashboard sessions and one-time login codes.

Three credentials, one throttle:

* the **API token** (``<data_dir>/api-token``) as ``Authorization: Bearer <token>`` —
  scripts, Prometheus, the WebSocket's first message or sub-protocol;
* a **session** cookie (HttpOnly, SameSite=Strict) that the dashboard receives by
  exchanging a **one-time login code** (printed at start-up as ``/login#<code>``: a URL
  fragment never reaches the server, a proxy or an access log) or the API token itself;
* every wrong credential counts against the client's address in the
  :class:`~moonlight.server.throttle.FailureThrottle`.

:meth:`Authenticator.authenticate` is the one decision, used before any body is read
(:mod:`moonlight.server.auth_gate`). A **correct credential is always accepted**, even
from an address that is locked out: on loopback the operator and a misbehaving script
share 127.0.0.1, and someone else's guesses must never lock the operator out of the
kill switch. This costs no security: every credential is at least 192 random bits
(token 256, session 256, login code 192), so guessing is hopeless with or without a
lockout; the throttle exists to cut the noise and work of wrong ones, which are
answered 429 — uncounted, and without comparing anything further — for the lockout.

Codes and session ids are kept only as SHA-256 digests; comparisons of the token are
constant-time. Nothing here is ever logged or returned.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from moonlight.server.settings import ServerSettings
from moonlight.server.throttle import FailureThrottle

SESSION_COOKIE = "moonlight_session"
WS_PROTOCOL = "moonlight.v1"
WS_BEARER_PREFIX = "moonlight.bearer."
MAX_SESSIONS = 1000
MAX_LOGIN_CODES = 100


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: how it proved it (``bearer`` or ``session``)."""

    via: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is not authenticated: the HTTP status and what to tell the client."""

    status: int
    detail: str
    retry_after_s: int | None = None


AUTHENTICATION_REQUIRED = Refusal(401, "authentication required: Authorization: Bearer <api token>")
INVALID_CREDENTIALS = Refusal(401, "invalid credentials")
NEEDS_ORIGIN = Refusal(403, "a cookie-authenticated change needs an Origin header")


class Authenticator:
    """Checks credentials; issues and redeems login codes and sessions."""

    def __init__(
        self,
        token: str,
        settings: ServerSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token = token.encode("utf-8")
        self._settings = settings
        self._clock = clock
        self._codes: dict[str, float] = {}
        self._sessions: dict[str, float] = {}
        self.throttle = FailureThrottle(
            failures_max=settings.auth_failures_max,
            window_s=settings.auth_window_s,
            lockout_s=settings.auth_lockout_s,
            clock=clock,
        )

    # ------------------------------------------------------------------ decisions

    def authenticate(
        self,
        client: str,
        *,
        authorization: str | None,
        cookie: str | None,
        change_without_origin: bool,
    ) -> Principal | Refusal:
        """Who the caller is, from its ``Authorization`` header or session cookie.

        A bearer token wins over a cookie. A cookie-authenticated state change must
        carry an ``Origin`` header (browsers always send one with same-origin writes).
        Presenting nothing is not a guess: 401, not counted (429 while locked out).
        """
        if authorization is not None:
            if self.bearer_matches(authorization):
                return Principal("bearer")
            return self.refuse_guess(client)
        if cookie is not None:
            if not self.session_valid(cookie):
                return self.refuse_guess(client)
            return NEEDS_ORIGIN if change_without_origin else Principal("session")
        return self.lockout(client) or AUTHENTICATION_REQUIRED

    def refuse_guess(self, client: str) -> Refusal:
        """A wrong credential: counted (unless locked out already); 429 once locked."""
        self.throttle.failed(client)
        return self.lockout(client) or INVALID_CREDENTIALS

    def lockout(self, client: str) -> Refusal | None:
        """The 429 for a client locked out by the throttle, else None."""
        retry_s = self.throttle.retry_after_s(client)
        if retry_s <= 0:
            return None
        return Refusal(
            429,
            "too many failed authentication attempts; try again later",
            retry_after_s=max(1, math.ceil(retry_s)),
        )

    # ------------------------------------------------------------------ token

    def token_matches(self, candidate: str) -> bool:
        """Constant-time comparison with the API token."""
        return hmac.compare_digest(candidate.encode("utf-8"), self._token)

    def bearer_matches(self, authorization: str) -> bool:
        """True for an ``Authorization`` header value ``Bearer <the API token>``."""
        scheme, _, credentials = authorization.partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(credentials.strip())

    # ------------------------------------------------------------------ login codes

    def issue_login_code(self) -> str:
        """A fresh single-use code valid for ``login_code_ttl_s``."""
        now = self._clock()
        self._expire(self._codes, now)
        if len(self._codes) >= MAX_LOGIN_CODES:
            oldest = min(self._codes, key=self._codes.__getitem__)
            del self._codes[oldest]
        code = secrets.token_urlsafe(24)
        self._codes[_digest(code)] = now + self._settings.login_code_ttl_s
        return code

    def redeem_login_code(self, code: str) -> bool:
        """Consume a code: True once, for an unexpired code; False ever after."""
        expires = self._codes.pop(_digest(code), None)
        return expires is not None and expires > self._clock()

    # ------------------------------------------------------------------ sessions

    def open_session(self) -> str:
        """A new session id for the dashboard cookie."""
        now = self._clock()
        self._expire(self._sessions, now)
        if len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions, key=self._sessions.__getitem__)
            del self._sessions[oldest]
        session_id = secrets.token_urlsafe(32)
        self._sessions[_digest(session_id)] = now + self._settings.session_ttl_s
        return session_id

    def session_valid(self, session_id: str) -> bool:
        """True for a live session; its idle lifetime starts again."""
        key = _digest(session_id)
        expires = self._sessions.get(key)
        now = self._clock()
        if expires is None:
            return False
        if expires <= now:
            del self._sessions[key]
            return False
        self._sessions[key] = now + self._settings.session_ttl_s
        return True

    def close_session(self, session_id: str) -> None:
        """Log a session out (unknown ids are ignored)."""
        self._sessions.pop(_digest(session_id), None)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @staticmethod
    def _expire(table: dict[str, float], now: float) -> None:
        for key in [key for key, expires in table.items() if expires <= now]:
            del table[key]
