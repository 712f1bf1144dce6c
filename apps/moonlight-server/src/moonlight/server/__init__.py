"""MoonLight reference server: REST + WebSocket API and the web dashboard.

:func:`moonlight.server.app.create_app` builds the FastAPI application around a running
engine's :class:`~moonlight.core.runtime.control.EngineControl` (the only way the
server reaches the engine); :mod:`moonlight.server.plugin` registers it as a service so
``moonlight run`` starts it beside the engine, on a thread and event loop of its own.
"""

from __future__ import annotations

API_PREFIX = "/api/v1"
"""Every REST route and the WebSocket live under this prefix."""
