"""The application factory: a FastAPI app around one running engine.

:func:`create_app` wires the API routers, the dashboard, the request guard (Host and
Origin checks, security headers) and the WebSocket hub, which it subscribes to the
engine's events and alarms. The app holds no global state: several apps (tests) can
live in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from moonlight.core.runtime.engine import Engine
from moonlight.core.storage.errors import StorageUnavailable
from moonlight.server import API_PREFIX
from moonlight.server.auth import Authenticator, Principal
from moonlight.server.context import ServerContext
from moonlight.server.deps import require_auth
from moonlight.server.hub import Hub
from moonlight.server.overrides import OverrideStore
from moonlight.server.request_guard import RequestGuard
from moonlight.server.routes import config_routes, data, pages, session, system, ws
from moonlight.server.settings import ServerSettings, settings_from
from moonlight.server.status import metrics_snapshot, server_version
from moonlight.server.token_file import ensure_api_token, token_path

log = logging.getLogger("moonlight.server")


async def _snapshots(context: ServerContext) -> None:
    """Push a ``metrics`` message every ``ws_snapshot_s`` while anyone listens."""
    while True:
        await asyncio.sleep(context.settings.ws_snapshot_s)
        if context.hub.subscribers:
            context.hub.publish("metrics", metrics_snapshot(context.engine))


def create_app(
    engine: Engine,
    *,
    settings: ServerSettings | None = None,
    token: str | None = None,
) -> FastAPI:
    """Build the API + dashboard app for ``engine``.

    ``settings`` default to the configuration's ``plugins.server`` section; ``token``
    defaults to ``<data_dir>/api-token`` (created on first start).
    """
    settings = settings or settings_from(engine.config.plugins)
    token_file = token_path(engine.config.data_dir)
    token = token or ensure_api_token(engine.config.data_dir)
    hub = Hub(queue_size=settings.ws_queue_size)
    context = ServerContext(
        engine=engine,
        settings=settings,
        auth=Authenticator(token, settings),
        hub=hub,
        overrides=OverrideStore(engine),
        token_file=token_file,
    )
    engine.subscribe(hub.on_engine_event)
    engine.alarms.subscribe(hub.on_alarm)

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
    app.add_middleware(
        RequestGuard,
        extra_hosts=settings.allowed_hosts + _bind_host(engine),
        bound_port=lambda: context.bound_port,
    )
    app.add_exception_handler(StorageUnavailable, _storage_unavailable)
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


def _bind_host(engine: Engine) -> list[str]:
    """The configured bind address is a valid Host too (unless it is a wildcard)."""
    host = engine.config.server.host
    return [] if host in ("0.0.0.0", "::", "") else [host]


async def _storage_unavailable(_request: Request, error: Exception) -> JSONResponse:
    log.error("storage unavailable while serving the API: %s", error)
    return JSONResponse(status_code=503, content={"detail": "storage unavailable"})
