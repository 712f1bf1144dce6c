"""Request dependencies: the server context and authentication of every API call.

Authentication (:func:`require_auth`) accepts the API token as a bearer credential or a
dashboard session cookie. Order of checks, per client address:

1. locked out by the failure throttle → 429 with ``Retry-After`` (credentials are not
   even looked at);
2. an ``Authorization`` header: the bearer token must match, else the failure counts;
3. a session cookie: it must be live, else the failure counts; a cookie-authenticated
   state change must also carry an ``Origin`` header (browsers always send it on
   same-origin ``fetch`` writes; its value was checked by the request guard);
4. nothing presented → 401 (not counted: it is not a guess).

A counted failure answers 401, or 429 when it was the one that locked the client out.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyCookie, HTTPBearer

from moonlight.server.auth import SESSION_COOKIE, Authenticator, Principal
from moonlight.server.context import ServerContext

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description="The API token from <data_dir>/api-token.",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="dashboardSession",
    description="Session cookie set by POST /api/v1/session (the dashboard).",
)


def context_of(request: Request) -> ServerContext:
    """The :class:`ServerContext` of the app serving ``request``."""
    context: ServerContext = request.app.state.moonlight
    return context


async def get_context(request: Request) -> ServerContext:
    """Dependency form of :func:`context_of` (async: no thread-pool hop per request)."""
    return context_of(request)


Ctx = Annotated[ServerContext, Depends(get_context)]
"""A route parameter receiving the :class:`ServerContext`."""


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def throttled(auth: Authenticator, client: str) -> HTTPException | None:
    """The 429 answer while ``client`` is locked out, else None."""
    retry_s = auth.throttle.retry_after_s(client)
    if retry_s <= 0:
        return None
    return HTTPException(
        status_code=429,
        detail="too many failed authentication attempts; try again later",
        headers={"Retry-After": str(max(1, math.ceil(retry_s)))},
    )


def failed(auth: Authenticator, client: str) -> HTTPException:
    """Count a wrong credential; the answer to give (401, or 429 once locked out)."""
    if auth.throttle.failed(client):
        error = throttled(auth, client)
        if error is not None:
            return error
    return HTTPException(
        status_code=401,
        detail="invalid credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def require_auth(
    request: Request,
    _bearer: Annotated[object, Security(bearer_scheme)],
    _cookie: Annotated[object, Security(cookie_scheme)],
) -> Principal:
    """Authenticate the request (see the module docstring) or raise 401/403/429."""
    auth = context_of(request).auth
    client = client_address(request)
    locked = throttled(auth, client)
    if locked is not None:
        raise locked
    header = request.headers.get("authorization")
    if header is not None:
        if auth.bearer_matches(header):
            return Principal("bearer")
        raise failed(auth, client)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is not None:
        if not auth.session_valid(session_id):
            raise failed(auth, client)
        if request.method not in SAFE_METHODS and "origin" not in request.headers:
            raise HTTPException(403, "a cookie-authenticated change needs an Origin header")
        return Principal("session")
    raise HTTPException(
        status_code=401,
        detail="authentication required: Authorization: Bearer <api token>",
        headers={"WWW-Authenticate": "Bearer"},
    )


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def date_time_text(value: object) -> object:
    """Accept only RFC 3339 text for a time parameter (not a bare epoch number)."""
    if isinstance(value, str) and not _DATE_TIME.match(value):
        raise ValueError("expected an RFC 3339 date-time such as 2026-01-05T08:00:00Z")
    return value


def invalid(location: str, name: str, message: str) -> RequestValidationError:
    """A 422 in FastAPI's own validation-error shape (so the OpenAPI schema holds)."""
    return RequestValidationError(
        [{"loc": (location, name), "msg": message, "type": "value_error", "input": None}]
    )


def as_utc(moment: datetime | None, name: str) -> datetime | None:
    """A query time as aware UTC (naive means UTC); 422 when it cannot be represented."""
    if moment is None:
        return None
    try:
        if moment.tzinfo is None or moment.utcoffset() is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise invalid("query", name, "time out of range") from None
