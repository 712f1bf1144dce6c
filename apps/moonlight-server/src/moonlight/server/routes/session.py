"""Dashboard sessions: exchange a one-time login code (or the API token) for a cookie.

The cookie is HttpOnly (scripts cannot read it), SameSite=Strict (no other site can make
the browser send it) and scoped to ``/``; it is a random session id, never the token.

The login is the one route an anonymous caller may send a body to. The body is bounded
like every body (``max_body_bytes``, read before the route runs), and one that is not a
valid login document counts as a failed attempt like a wrong code: 401 (429 once the
address is locked out), never a 422 describing what was expected. A correct code or
token logs in even from a locked-out address (see :mod:`moonlight.server.auth`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import ValidationError

from moonlight.server import schemas
from moonlight.server.auth import SESSION_COOKIE, Refusal
from moonlight.server.deps import Ctx, client_address, require_auth
from moonlight.server.routes.errors import AUTH_ERRORS

router = APIRouter(tags=["session"])

LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": schemas.LoginIn.model_json_schema()}},
    }
}


def _refused(refusal: Refusal) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else {}
    if refusal.retry_after_s is not None:
        headers["Retry-After"] = str(refusal.retry_after_s)
    return HTTPException(refusal.status, refusal.detail, headers=headers)


@router.post(
    "/session", response_model=schemas.SessionOut, responses=AUTH_ERRORS, openapi_extra=LOGIN_BODY
)
async def login(request: Request, response: Response, context: Ctx) -> schemas.SessionOut:
    """Log the dashboard in: a one-time ``code`` from the start-up link, or the ``token``."""
    auth = context.auth
    client = client_address(request)
    try:
        body = schemas.LoginIn.model_validate_json(await request.body())
    except ValidationError:
        raise _refused(auth.refuse_guess(client)) from None
    if body.code is None and body.token is None:
        raise HTTPException(401, "send the one-time login code or the API token")
    good = (body.code is not None and auth.redeem_login_code(body.code)) or (
        body.token is not None and auth.token_matches(body.token)
    )
    if not good:
        raise _refused(auth.refuse_guess(client))
    response.set_cookie(
        SESSION_COOKIE,
        auth.open_session(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return schemas.SessionOut(authenticated=True)


@router.get(
    "/session",
    response_model=schemas.SessionOut,
    responses=AUTH_ERRORS,
    dependencies=[Depends(require_auth)],
)
async def session_state() -> schemas.SessionOut:
    """200 while the caller is authenticated (the dashboard checks this first)."""
    return schemas.SessionOut(authenticated=True)


@router.delete(
    "/session",
    response_model=schemas.SessionOut,
    responses=AUTH_ERRORS,
    dependencies=[Depends(require_auth)],
)
async def logout(request: Request, response: Response, context: Ctx) -> schemas.SessionOut:
    """End the dashboard session and clear its cookie."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is not None:
        context.auth.close_session(session_id)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return schemas.SessionOut(authenticated=False)
