"""The application factory: a FastAPI app around one running engine's control facade.

:func:`create_app` wires the API routers, the dashboard, and — in front of every
route, in this order — the request guard (Host and Origin checks, security headers),
the authentication gate (credentials from the request head, before any body is read)
and the body limit (size and time), plus error handlers that never echo a request's
content and mask what they print. The WebSocket hub is subscribed to the engine's
events and alarms. The app reaches the engine only through
:class:`~moonlight.core.runtime.control.EngineControl` and holds no global state:
several apps (tests) can live in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from moonlight.core.runtime.control import EngineBusy, EngineControl, UnknownAccount
from moonlight.core.storage.errors import StorageUnavailable
from moonlight.core.telemetry.pii import redact
from moonlight.server import API_PREFIX
from moonlight.server.auth import Authenticator, Principal
from moonlight.server.auth_gate import AuthGate
from moonlight.server.body_limit import BodyLimit
from moonlight.server.context import ServerContext
from moonlight.server.deps import require_auth
from moonlight.server.hub import Hub
from moonlight.server.request_guard import RequestGuard
from moonlight.server.routes import config_routes, data, pages, session, system, ws
from moonlight.server.settings import ServerSettings, settings_from
from moonlight.server.status import server_version
from moonlight.server.token_file import ensure_api_token, token_path

log = logging.getLogger("moonlight.server")

#: Requests that need no credentials although they live under a protected prefix.
PUBLIC_ROUTES = frozenset({("POST", f"{API_PREFIX}/session")})


async def _snapshots(context: ServerContext) -> None:
    """Push a ``metrics`` message every ``ws_snapshot_s`` while anyone listens."""
    while True:
        await asyncio.sleep(context.settings.ws_snapshot_s)
        if context.hub.subscribers:
            try:
                snapshot = await context.control.metrics_snapshot()
            except EngineBusy:
                continue
            context.hub.publish("metrics", snapshot)


def create_app(
    control: EngineControl,
    *,
    settings: ServerSettings | None = None,
    token: str | None = None,
) -> FastAPI:
    """Build the API + dashboard app around ``control``.

    ``settings`` default to the configuration's ``plugins.server`` section; ``token``
    defaults to ``<data_dir>/api-token`` (created on first start).
    """
    config = control.config
    settings = settings or settings_from(config.plugins)
    token_file = token_path(config.data_dir)
    token = token or ensure_api_token(config.data_dir)
    hub = Hub(queue_size=settings.ws_queue_size)
    auth = Authenticator(token, settings)
    context = ServerContext(
        control=control, settings=settings, auth=auth, hub=hub, token_file=token_file
    )
    control.subscribe(hub.on_engine_event)
    control.subscribe_alarms(hub.on_alarm)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        task = asyncio.create_task(_snapshots(context))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="MoonLight API",
        version=server_version(),
        description="REST and WebSocket API of the MoonLight trading engine. Every route"
        " except /health needs the API token (Authorization: Bearer) or a dashboard"
        " session cookie.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.moonlight = context
    # added innermost first: the request guard runs first, then the gate, then the limit
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )
    app.add_middleware(
        AuthGate, auth=auth, protected_prefixes=(API_PREFIX, "/metrics"), public=PUBLIC_ROUTES
    )
    app.add_middleware(
        RequestGuard,
        extra_hosts=settings.allowed_hosts + _bind_host(config.server.host),
        bound_port=lambda: context.bound_port,
    )
    app.add_exception_handler(StorageUnavailable, _storage_unavailable)
    app.add_exception_handler(EngineBusy, _engine_busy)
    app.add_exception_handler(UnknownAccount, _unknown_account)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    for router in (system.router, data.router, config_routes.router, session.router, ws.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(system.metrics_router)
    app.include_router(pages.health_router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(pages.STATIC_DIR)), name="static")

    generate = app.openapi

    def openapi_schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = plain_query_parameters(generate())
        return app.openapi_schema

    app.openapi = openapi_schema  # type: ignore[method-assign]

    @app.get(f"{API_PREFIX}/openapi.json", include_in_schema=False)
    async def openapi(_: Annotated[Principal, Depends(require_auth)]) -> dict[str, Any]:
        return app.openapi()

    return app


def plain_query_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """Optional query/path parameters as their plain type, without ``anyOf [..., null]``.

    A query string cannot carry a JSON null: an absent parameter is how "no filter" is
    said, so the ``null`` branch pydantic emits for ``str | None`` only misleads clients
    and contract testers about what can be sent.
    """
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                inner = parameter.get("schema", {})
                variants = inner.get("anyOf")
                if not variants:
                    continue
                kept = [v for v in variants if v.get("type") != "null"]
                if len(kept) == 1 and len(kept) < len(variants):
                    rest = {k: v for k, v in inner.items() if k != "anyOf"}
                    parameter["schema"] = {**kept[0], **rest}
    return schema


def _bind_host(host: str) -> list[str]:
    """The configured bind address is a valid Host too (unless it is a wildcard)."""
    return [] if host in ("0.0.0.0", "::", "") else [host]


async def _storage_unavailable(_request: Request, error: Exception) -> JSONResponse:
    log.error("storage unavailable while serving the API: %s", error)
    return JSONResponse(status_code=503, content={"detail": "storage unavailable"})


async def _engine_busy(_request: Request, error: Exception) -> JSONResponse:
    log.warning("the engine did not answer an API call: %s", error)
    return JSONResponse(status_code=503, content={"detail": str(error)})


async def _unknown_account(_request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(error)})


async def _invalid_request(_request: Request, error: Exception) -> JSONResponse:
    """422 naming each problem's place and kind, never the offending input.

    FastAPI's default echoes every invalid ``input`` back — a whole multi-megabyte body,
    or a credential typed into the wrong field.
    """
    assert isinstance(error, RequestValidationError)
    detail = [
        {"loc": list(item.get("loc", ())), "msg": redact(str(item.get("msg", ""))),
         "type": str(item.get("type", "value_error"))}
        for item in error.errors()
    ]  # fmt: skip
    return JSONResponse(status_code=422, content={"detail": detail})


async def _http_error(request: Request, error: Exception) -> Response:
    """Starlette's answer for an HTTPException, with the detail masked like the log."""
    assert isinstance(error, HTTPException)
    if isinstance(error.detail, str):
        error = HTTPException(error.status_code, redact(error.detail), error.headers)
    return await http_exception_handler(request, error)


async def _internal_error(_request: Request, error: Exception) -> JSONResponse:
    """A bug: logged (masked), answered without any detail."""
    log.error("unhandled error while serving the API", exc_info=error)
    return JSONResponse(status_code=500, content={"detail": "internal error"})
