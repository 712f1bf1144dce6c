"""What every route needs, in one object stored on ``app.state.moonlight``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moonlight.core.runtime.control import EngineControl
from moonlight.server.auth import Authenticator
from moonlight.server.hub import Hub
from moonlight.server.settings import ServerSettings


@dataclass
class ServerContext:
    """The engine behind the API (through its :class:`EngineControl` only) and the
    server's own state.

    ``lifecycle`` is the service's view of the engine (``running`` until the stop
    event, then ``stopping``); ``bound_port`` is the TCP port once uvicorn listens
    (the Origin check compares against it).
    """

    control: EngineControl
    settings: ServerSettings
    auth: Authenticator
    hub: Hub
    token_file: Path
    lifecycle: str = "running"
    bound_port: int | None = None
