"""MoonLight reference server: REST + WebSocket API and the web dashboard.

:func:`moonlight.server.app.create_app` builds the FastAPI application around a running
:class:`~moonlight.core.runtime.engine.Engine`; :mod:`moonlight.server.plugin` registers
it as a service so ``moonlight run`` starts it beside the engine, on the engine's loop.
"""

from __future__ import annotations

API_PREFIX = "/api/v1"
"""Every REST route and the WebSocket live under this prefix."""
