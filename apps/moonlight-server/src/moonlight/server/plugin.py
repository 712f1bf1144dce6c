"""The server as a MoonLight plugin: ``moonlight run`` starts it beside the engine.

Registered through the ``moonlight`` entry point like any third-party plugin: a service
(``factory(engine, stop)``, see :func:`moonlight.server.service.serve`) and the
``plugins.server`` configuration section (:class:`~moonlight.server.settings.ServerSettings`).

Importing this module loads only the settings model: FastAPI, uvicorn and the engine are
imported when the service starts, so ``moonlight plugins`` can describe the server
without them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from moonlight.core.plugins import ComponentSpec, hookimpl
from moonlight.server.settings import SECTION, ServerSettings, settings_from

if TYPE_CHECKING:
    import asyncio

    from moonlight.core.runtime.control import Engine


async def run_server(engine: Engine, stop: asyncio.Event) -> None:
    """Service factory: the API server until ``stop`` is set."""
    from moonlight.server.service import serve

    await serve(engine, stop, settings=settings_from(engine.config.plugins))


@hookimpl
def moonlight_register_services() -> Sequence[ComponentSpec]:
    """The reference server (REST + WebSocket API, dashboard, /metrics)."""
    return [
        ComponentSpec(
            name=SECTION,
            factory=run_server,
            summary="REST + WebSocket API, web dashboard and /metrics on 127.0.0.1",
            config_model=ServerSettings,
        )
    ]


@hookimpl
def moonlight_register_config_models() -> Mapping[str, type[BaseModel]]:
    """``plugins.server``: throttling, sessions, WebSocket back-pressure, extra hosts."""
    return {SECTION: ServerSettings}
