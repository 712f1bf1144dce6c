"""Request dependencies: the server context, the authenticated caller, time parameters.

Authentication itself happens before routing, from the request head
(:mod:`moonlight.server.auth_gate`); :func:`require_auth` only hands the result to the
route — and declares the two security schemes in the OpenAPI document.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyCookie, HTTPBearer

from moonlight.server.auth import AUTHENTICATION_REQUIRED, SESSION_COOKIE, Principal
from moonlight.server.auth_gate import PRINCIPAL
from moonlight.server.context import ServerContext

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


async def require_auth(
    request: Request,
    _bearer: Annotated[object, Security(bearer_scheme)],
    _cookie: Annotated[object, Security(cookie_scheme)],
) -> Principal:
    """The caller the authentication gate admitted (401 if the route was not gated)."""
    principal = request.scope.get("state", {}).get(PRINCIPAL)
    if isinstance(principal, Principal):
        return principal
    raise HTTPException(
        status_code=AUTHENTICATION_REQUIRED.status,
        detail=AUTHENTICATION_REQUIRED.detail,
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
