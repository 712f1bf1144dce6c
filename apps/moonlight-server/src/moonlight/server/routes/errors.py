"""The documented error answers shared by the authenticated routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorOut(BaseModel):
    """Every error answer: ``{"detail": "why"}``."""

    model_config = ConfigDict(frozen=True)
    detail: str


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Malformed request (a body that is not JSON)."},
    401: {"model": ErrorOut, "description": "No or wrong credentials (checked before the"
          " body is read)."},
    403: {"model": ErrorOut, "description": "Foreign Host or Origin, or a cookie change"
          " without Origin."},
    408: {"model": ErrorOut, "description": "The body did not arrive within"
          " plugins.server.body_timeout_s."},
    413: {"model": ErrorOut, "description": "Body larger than plugins.server.max_body_bytes"
          " (refused before it is read)."},
    429: {"model": ErrorOut, "description": "Too many failed authentications from this"
          " client; see Retry-After. A correct credential is never refused."},
    503: {"model": ErrorOut, "description": "Storage is unavailable, or the engine did not"
          " answer in time."},
}  # fmt: skip
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "Unknown."}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "Not possible now; the detail says why."}
}
