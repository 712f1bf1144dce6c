"""The server's own settings: the ``plugins.server`` section of the configuration.

Where the server binds (``server.host`` / ``server.port`` / ``server.allow_non_loopback``)
belongs to the core configuration; everything else the server needs — authentication
throttling, sessions, WebSocket back-pressure, extra allowed hosts, and the limits that
keep hostile clients from exhausting the process (body size, timeouts, connections) —
lives here, so the core never has to know about it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SECTION = "server"
"""Name of the section under ``plugins:`` (and of the service plugin)."""


class ServerSettings(BaseModel):
    """Tuning and hardening of the reference server (``plugins.server``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    auth_failures_max: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Failed authentications from one client within auth_window_s before it"
        " is answered 429 for auth_lockout_s.",
    )
    auth_window_s: float = Field(
        default=60.0, gt=0, description="Window over which failed authentications count."
    )
    auth_lockout_s: float = Field(
        default=60.0, gt=0, description="How long a throttled client is refused (429)."
    )
    login_code_ttl_s: float = Field(
        default=900.0,
        gt=0,
        description="Lifetime of the one-time dashboard login link printed at start-up.",
    )
    session_ttl_s: float = Field(
        default=12 * 3600.0,
        gt=0,
        description="Idle lifetime of a dashboard session cookie, seconds.",
    )
    ws_queue_size: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Messages buffered per WebSocket client; a client that falls this far"
        " behind is disconnected (the engine never waits for it).",
    )
    ws_snapshot_s: float = Field(
        default=2.0, gt=0, description="Seconds between metric snapshots pushed on the WebSocket."
    )
    ws_auth_timeout_s: float = Field(
        default=5.0, gt=0, description="Time a WebSocket client has to send its auth message."
    )
    max_page_size: int = Field(
        default=1000, ge=1, le=100_000, description="Largest page of orders or results."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names accepted besides localhost, 127.0.0.1 and ::1 (needed when"
        " server.allow_non_loopback exposes the API under another name).",
    )
    access_log: bool = Field(
        default=False, description="Log one line per HTTP request (uvicorn access log)."
    )
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest request body accepted (every body is a small JSON document);"
        " a larger declared Content-Length is answered 413 before a byte of it is read.",
    )
    body_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Time a client has to send a request body once the headers arrived"
        " (408 after it).",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Time a connection has, from accept or from the end of its previous"
        " response, to send a complete request head; then it is closed.",
    )
    keep_alive_timeout_s: int = Field(
        default=5, ge=1, le=300, description="Idle keep-alive connections are closed after this."
    )
    max_connections: int = Field(
        default=256,
        ge=8,
        le=100_000,
        description="Open connections (HTTP and WebSocket) at most; also capped by the"
        " descriptor limit minus fd_reserve. At the cap the oldest idle connection is"
        " closed for a new one; with none idle, the new one is refused (503).",
    )
    fd_reserve: int = Field(
        default=256,
        ge=16,
        le=100_000,
        description="File descriptors the API never uses, kept for storage, broker"
        " connections and logs (POSIX; Windows has no per-process descriptor limit).",
    )
    accept_backlog: int = Field(
        default=64,
        ge=8,
        le=4096,
        description="Listen backlog, and the most connections accepted in one burst.",
    )
    print_login_link: bool = Field(
        default=True,
        description="Print the one-time dashboard login link on the console at start-up"
        " (never to the log file).",
    )


def settings_from(plugins: dict[str, dict[str, Any]]) -> ServerSettings:
    """The validated ``plugins.server`` section (defaults when it is absent)."""
    return ServerSettings.model_validate(plugins.get(SECTION, {}))
