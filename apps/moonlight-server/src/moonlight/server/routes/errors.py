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
    401: {"model": ErrorOut, "description": "No or wrong credentials."},
    403: {"model": ErrorOut, "description": "Foreign Host or Origin, or a cookie change"
          " without Origin."},
    429: {"model": ErrorOut, "description": "Too many failed authentications from this"
          " client; see Retry-After."},
    503: {"model": ErrorOut, "description": "Storage is unavailable."},
}  # fmt: skip
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "Unknown."}}
