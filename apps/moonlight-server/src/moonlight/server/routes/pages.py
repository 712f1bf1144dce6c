"""The dashboard's pages and assets, and the supervisors' health check.

The pages are static files shipped inside the package (no build step, nothing fetched
from a CDN); they hold no data and need no authentication — the data comes from the API
with the session cookie. ``/health`` answers without authentication because service
supervisors (systemd, NSSM, container runtimes) probe it without credentials; it says
only whether the process serves.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from moonlight.server import schemas
from moonlight.server.deps import Ctx

STATIC_DIR = Path(str(files("moonlight.server") / "static"))
_NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(include_in_schema=False)
health_router = APIRouter(tags=["health"])


@router.get("/")
async def dashboard() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=_NO_STORE)


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon")


@router.get("/login")
async def login_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "login.html", headers=_NO_STORE)


@health_router.get("/health", response_model=schemas.HealthOut)
async def health(context: Ctx) -> schemas.HealthOut:
    """Liveness for supervisors: ``ok`` while serving, ``stopping`` during shutdown."""
    return schemas.HealthOut(status="ok" if context.lifecycle == "running" else "stopping")
