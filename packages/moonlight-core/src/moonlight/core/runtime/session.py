"""Run an engine until a signal stops it -- what ``moonlight run`` and
``python -m moonlight.core.main`` do.

Ctrl+C / SIGINT and SIGTERM (and on Windows, Ctrl+Break) stop it gracefully: workers
stop deciding, orders in flight are persisted (they are reconciled at the next start),
connectors close. A second signal during shutdown exits at once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.events import OrderSettled, OrderStateChanged
from moonlight.core.plugins.host import PluginHost
from moonlight.core.plugins.registry import ComponentKind
from moonlight.core.runtime.clock import Clock, ScaledClock, WallClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.telemetry.pii import register_from_config

log = logging.getLogger("moonlight.run")

#: Services started beside the engine (the reference server is one, via its plugin).
Companion = Callable[[Engine, asyncio.Event], Awaitable[None]]


def registered_services(host: PluginHost) -> tuple[Companion, ...]:
    """Every service plugin (``moonlight_register_services``), as companions."""
    return tuple(
        reg.component.factory for reg in host.registry.registrations(ComponentKind.SERVICE)
    )


def make_clock(speed: float) -> Clock:
    """Wall time at speed 1, otherwise simulated time running ``speed`` times faster."""
    return WallClock() if speed == 1 else ScaledClock(time.time(), speed)


def announce(hook_name: str, event: Any) -> None:
    """Tell the person watching the console about orders as they happen."""
    if isinstance(event, OrderStateChanged) and event.to_state == "CONFIRM":
        log.info(
            "order %s opened on %s (%s)", event.client_req_id, event.instrument, event.account_id
        )
    elif isinstance(event, OrderSettled):
        log.info("order %s settled: %s, pnl %+.2f", event.client_req_id, event.outcome, event.pnl)


async def run_engine(
    config: MoonlightConfig,
    host: PluginHost,
    *,
    speed: float = 1.0,
    stop: asyncio.Event | None = None,
    companions: tuple[Companion, ...] = (),
) -> Engine:
    """Start the engine, wait for ``stop`` (or a signal), then shut down gracefully."""
    stop = stop or asyncio.Event()
    # Account ids and the values of named secrets are masked in every log line from now.
    register_from_config(config)
    _install_signal_handlers(stop)
    engine = Engine.create(config, host, clock=make_clock(speed))
    engine.subscribe(announce)
    await engine.start()
    # Everything built so far lives as long as the process: keep the cyclic garbage
    # collector from re-scanning it on every collection (shorter pauses at bar closes).
    gc.freeze()
    extra = [asyncio.ensure_future(companion(engine, stop)) for companion in companions]
    try:
        await stop.wait()
    finally:
        log.info("stopping: no new orders; persisting orders in flight")
        await engine.stop("signal")
        for task in extra:
            task.cancel()
        await asyncio.gather(*extra, return_exceptions=True)
    return engine


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def request_stop(*_: object) -> None:
        if stop.is_set():
            log.warning("second signal: exiting now")
            raise SystemExit(130)
        loop.call_soon_threadsafe(stop.set)

    signals = [signal.SIGINT, signal.SIGTERM]
    if sys.platform == "win32":
        signals.append(signal.SIGBREAK)
        for sig in signals:  # asyncio has no add_signal_handler on Windows
            signal.signal(sig, request_stop)
        return
    for sig in signals:
        loop.add_signal_handler(sig, request_stop)
