"""Run the API server beside the engine, on the engine's own event loop.

:class:`ServerHandle` starts uvicorn as a task of the running loop (no thread, no
second loop: handlers read the engine's objects directly), reports the bound port, and
stops it gracefully. Signals stay with the engine's session
(:func:`moonlight.core.runtime.session.run_engine`), which sets the stop event on
SIGINT/SIGTERM; :func:`serve` then closes the listening socket, lets open requests
finish (``shutdown_grace_s``) and returns.

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
from collections.abc import Iterator
from typing import TextIO

import uvicorn
from fastapi import FastAPI

from moonlight.core.config.models import is_loopback_host
from moonlight.core.runtime.engine import Engine
from moonlight.server.app import create_app
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
    """uvicorn running as a task on the current loop."""

    def __init__(self, app: FastAPI, *, host: str, port: int, settings: ServerSettings) -> None:
        self.app = app
        self.host = host
        self.context: ServerContext = app.state.moonlight
        self.server = _EmbeddedServer(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_config=None,
                access_log=settings.access_log,
                lifespan="on",
                ws_max_size=64 * 1024,
                server_header=False,
                proxy_headers=False,
                timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
            )
        )
        self._task: asyncio.Task[None] | None = None

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

    async def _serve(self) -> None:
        """uvicorn's serve(); its ``sys.exit`` on a failed bind becomes an error here
        (a SystemExit escaping a task would end the engine's whole event loop)."""
        try:
            await self.server.serve()
        except SystemExit as exited:
            raise RuntimeError(
                f"uvicorn exited with status {exited.code} (the log says why, e.g. the"
                " address is in use)"
            ) from None

    async def start(self) -> int:
        """Listen; returns the bound port. Raises if uvicorn could not start."""
        self._task = asyncio.create_task(self._serve(), name="moonlight api server")
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        while not self.server.started:
            if self._task.done():
                error = self._task.exception()
                raise RuntimeError(f"the API server could not start on {self.host}") from error
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the API server did not start in time")
            await asyncio.sleep(0.01)
        sockets = self.server.servers[0].sockets
        self.context.bound_port = int(sockets[0].getsockname()[1])
        return self.context.bound_port

    async def stop(self) -> None:
        """Stop accepting, let open requests finish (bounded), then return."""
        self.context.lifecycle = "stopping"
        if self._task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), SHUTDOWN_GRACE_S + 2.0)
        except TimeoutError:
            self.server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        except RuntimeError as error:
            log.error("the API server ended abnormally: %s", error)
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
    """The service: API + dashboard until ``stop`` is set (see the module docstring)."""
    settings = settings or settings_from(engine.config.plugins)
    server_config = engine.config.server
    check_bind(server_config.host, server_config.allow_non_loopback)
    app = create_app(engine, settings=settings)
    handle = ServerHandle(app, host=server_config.host, port=server_config.port, settings=settings)
    try:
        await handle.start()
    except (RuntimeError, TimeoutError) as error:
        # the engine keeps trading (its guards and the CLI still work); the operator is
        # told loudly that the API and its kill-switch button are not reachable
        engine.alarms.raise_alarm(
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
