"""Run the API server beside the engine — on its own thread and event loop.

Nothing a client does may stall a decision, so the API never runs on the engine's
loop: :class:`ServerHandle` runs uvicorn in a thread of its own (``moonlight-api``)
with its own asyncio loop, and the routes reach the engine only through
:class:`~moonlight.core.runtime.control.EngineControl`, which marshals commands and
snapshot reads onto the engine's loop (docs/concepts/api-isolation.md says why a
thread and not a process). The listening socket is served by
:class:`~moonlight.server.connections.GatedH11Protocol`: a connection cap below the
descriptor limit, a deadline for request heads, idle keep-alive closed after
``keep_alive_timeout_s``.

Signals stay with the engine's session (:func:`moonlight.core.runtime.session.run_engine`),
which sets the stop event on SIGINT/SIGTERM; :func:`serve` then closes the listening
socket, lets open requests finish (``SHUTDOWN_GRACE_S``), joins the thread and returns.

Binding: loopback by default. A non-loopback ``server.host`` is refused unless
``server.allow_non_loopback`` is true (the configuration already refuses it; this is
the last check before the socket exists), and then logged as a warning.

At start-up a one-time dashboard login link ``http://127.0.0.1:<port>/login#<code>`` is
printed on the console (stderr) — not logged, so the log file never holds it; the code
is single-use and expires after ``plugins.server.login_code_ttl_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

import uvicorn
from fastapi import FastAPI

from moonlight.core.config.models import is_loopback_host
from moonlight.core.runtime.control import Engine, EngineControl
from moonlight.server.app import create_app
from moonlight.server.connections import (
    ConnectionBudget,
    connection_cap,
    descriptor_limit,
    gated_protocol,
)
from moonlight.server.context import ServerContext
from moonlight.server.settings import ServerSettings, settings_from

log = logging.getLogger("moonlight.server")

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_GRACE_S = 5.0


def is_loopback(host: str) -> bool:
    """The same rule as the configuration's: localhost or a loopback IP literal."""
    return is_loopback_host(host)


def check_bind(host: str, allow_non_loopback: bool) -> None:
    """Refuse a non-loopback bind unless explicitly allowed; warn when it is."""
    if is_loopback(host):
        return
    if not allow_non_loopback:
        raise PermissionError(
            f"refusing to bind the API to {host!r}: not a loopback address; set"
            " server.allow_non_loopback: true to expose it deliberately"
        )
    log.warning(
        "the API is exposed on %s (server.allow_non_loopback): every call still needs the"
        " token; put TLS in front of it (reverse proxy) and restrict the firewall",
        host,
    )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the engine's session owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServerHandle:
    """uvicorn serving one app on a thread and event loop of its own."""

    def __init__(self, app: FastAPI, *, host: str, port: int, settings: ServerSettings) -> None:
        self.app = app
        self.host = host
        self.context: ServerContext = app.state.moonlight
        limit = descriptor_limit()
        self.budget = ConnectionBudget(
            connection_cap(
                settings.max_connections,
                fd_reserve=settings.fd_reserve,
                backlog=settings.accept_backlog,
                limit=limit,
            ),
            header_timeout_s=settings.header_timeout_s,
        )
        self.server = _EmbeddedServer(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                http=gated_protocol(self.budget),
                log_config=None,
                access_log=settings.access_log,
                lifespan="on",
                ws_max_size=64 * 1024,
                server_header=False,
                proxy_headers=False,
                backlog=settings.accept_backlog,
                timeout_keep_alive=settings.keep_alive_timeout_s,
                timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
            )
        )
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        log.info(
            "API connections capped at %d (descriptor limit %s, %d kept for storage and"
            " brokers)",
            self.budget.cap, limit if limit is not None else "none", settings.fd_reserve,
        )  # fmt: skip

    @property
    def port(self) -> int:
        """The bound TCP port (the real one when 0 was asked for)."""
        port = self.context.bound_port
        if port is None:
            raise RuntimeError("the server is not listening yet")
        return port

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def thread(self) -> threading.Thread | None:
        """The API's thread while it runs."""
        return self._thread

    def _run(self) -> None:
        """The API thread: uvicorn on a fresh event loop until it is told to exit."""
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported by start()/stop() on the engine's side
            self._error = error

    async def _serve(self) -> None:
        """uvicorn's serve(); its ``sys.exit`` on a failed bind becomes an error here."""
        try:
            await self.server.serve()
        except SystemExit as exited:
            raise RuntimeError(
                f"uvicorn exited with status {exited.code} (the log says why, e.g. the"
                " address is in use)"
            ) from None

    async def start(self) -> int:
        """Listen; returns the bound port. Raises if uvicorn could not start."""
        self._thread = threading.Thread(target=self._run, name="moonlight-api", daemon=True)
        self._thread.start()
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the API server could not start on {self.host}") from (
                    self._error
                )
            if asyncio.get_running_loop().time() > deadline:
                self.server.should_exit = True
                raise TimeoutError("the API server did not start in time")
            await asyncio.sleep(0.01)
        sockets = self.server.servers[0].sockets
        self.context.bound_port = int(sockets[0].getsockname()[1])
        return self.context.bound_port

    async def stop(self) -> None:
        """Stop accepting, let open requests finish (bounded), then join the thread."""
        self.context.lifecycle = "stopping"
        thread = self._thread
        if thread is None:
            return
        self.server.should_exit = True
        await asyncio.to_thread(thread.join, SHUTDOWN_GRACE_S + 2.0)
        if thread.is_alive():
            self.server.force_exit = True
            await asyncio.to_thread(thread.join, SHUTDOWN_GRACE_S)
        if self._error is not None:
            log.error("the API server ended abnormally: %s", self._error)
        self.context.lifecycle = "stopped"


def print_login_link(handle: ServerHandle, *, stream: TextIO | None = None) -> str:
    """Print a fresh one-time login link on the console; returns the link."""
    code = handle.context.auth.issue_login_code()
    link = f"{handle.base_url}/login#{code}"
    ttl_min = handle.context.settings.login_code_ttl_s / 60
    out = stream or sys.stderr
    out.write(
        f"\nMoonLight dashboard: {link}\n"
        f"  (one-time login link, valid {ttl_min:g} min; or sign in with the token in"
        f" {handle.context.token_file})\n\n"
    )
    out.flush()
    return link


async def serve(
    engine: Engine,
    stop: asyncio.Event,
    *,
    settings: ServerSettings | None = None,
) -> None:
    """The service: API + dashboard until ``stop`` is set (see the module docstring).

    Runs on the engine's loop (a session companion); builds the engine's
    :class:`EngineControl` there and serves the API from its own thread.
    """
    control = EngineControl(engine)
    config = control.config
    settings = settings or settings_from(config.plugins)
    server_config = config.server
    check_bind(server_config.host, server_config.allow_non_loopback)
    app = create_app(control, settings=settings)
    handle = ServerHandle(app, host=server_config.host, port=server_config.port, settings=settings)
    try:
        await handle.start()
    except (RuntimeError, TimeoutError) as error:
        # the engine keeps trading (its guards and the CLI still work); the operator is
        # told loudly that the API and its kill-switch button are not reachable
        await control.raise_alarm(
            "critical",
            "api_unavailable",
            f"the API server could not listen on {server_config.host}:{server_config.port}:"
            f" {error.__cause__ or error}",
        )
        raise
    log.info(
        "API and dashboard on %s (REST /api/v1, WebSocket /api/v1/ws, /metrics, /health)",
        handle.base_url,
    )
    if settings.print_login_link:
        print_login_link(handle)
    try:
        await stop.wait()
    finally:
        # The session cancels its services right after stopping the engine; the
        # shutdown (bounded by SHUTDOWN_GRACE_S) completes even then.
        shutdown = asyncio.ensure_future(handle.stop())
        try:
            await asyncio.shield(shutdown)
        except asyncio.CancelledError:
            await shutdown
            raise
        finally:
            log.info("API server stopped")
