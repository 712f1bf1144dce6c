"""The WebSocket feed ``/api/v1/ws``: connect, read, and reconnect by itself.

:func:`follow` keeps one connection open for as long as ``stop`` is not set. It
authenticates exactly like the REST client (token sub-protocol or session cookie),
hands every message to ``on_message`` and reports the connection's state to
``on_state``: ``connected``, ``reconnecting`` (with backoff 0.5 s doubling to 15 s,
reset by a successful connection) or ``unauthenticated`` (close code 4401: it stops,
the operator must sign in again). A throttled client (4429) waits a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from moonlight.console.api import ApiClient
from moonlight.console.models import LiveMessage

log = logging.getLogger("moonlight.console.live")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_THROTTLED = 4429
THROTTLED_WAIT_S = 60.0
MAX_MESSAGE_BYTES = 1 << 20
OPEN_TIMEOUT_S = 10.0


@dataclass(slots=True)
class Backoff:
    """Delays between reconnection attempts: ``initial_s`` doubling up to ``max_s``."""

    initial_s: float = 0.5
    max_s: float = 15.0
    _next_s: float = 0.0

    def next(self) -> float:
        delay = self._next_s or self.initial_s
        self._next_s = min(delay * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._next_s = 0.0


def decode(raw: str | bytes) -> LiveMessage | None:
    """One message, or None for anything that is not a well-formed event."""
    try:
        return LiveMessage.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        return None


async def follow(
    client: ApiClient,
    on_message: Callable[[LiveMessage], None],
    on_state: Callable[[str], None],
    stop: asyncio.Event,
    backoff: Backoff | None = None,
) -> None:
    """Stream events until ``stop`` is set or the server refuses the credentials."""
    backoff = backoff or Backoff()
    while not stop.is_set():
        delay = backoff.next()
        code = await _session(client, on_message, on_state, stop, backoff)
        if stop.is_set():
            return
        if code == CLOSE_UNAUTHENTICATED:
            on_state("unauthenticated")
            return
        on_state("reconnecting")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                stop.wait(), THROTTLED_WAIT_S if code == CLOSE_THROTTLED else delay
            )


async def _session(
    client: ApiClient,
    on_message: Callable[[LiveMessage], None],
    on_state: Callable[[str], None],
    stop: asyncio.Event,
    backoff: Backoff,
) -> int | None:
    """One connection, read until it closes or ``stop``; the close code if any."""
    subprotocols, headers = client.ws_handshake()
    try:
        async with connect(
            client.ws_url,
            subprotocols=[Subprotocol(p) for p in subprotocols],
            additional_headers=headers,
            open_timeout=OPEN_TIMEOUT_S,
            max_size=MAX_MESSAGE_BYTES,
        ) as socket:
            on_state("connected")
            backoff.reset()
            reading = asyncio.ensure_future(_read(socket, on_message))
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (reading, stopping):
                    task.cancel()
                await asyncio.gather(reading, stopping, return_exceptions=True)
            return socket.close_code
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    except (OSError, TimeoutError, InvalidHandshake) as error:
        log.info("WebSocket not connected: %s", error)
        return None


async def _read(socket: ClientConnection, on_message: Callable[[LiveMessage], None]) -> None:
    """Hand every well-formed message on; returns when the server closes."""
    with contextlib.suppress(ConnectionClosed):
        async for raw in socket:
            message = decode(raw)
            if message is not None:
                on_message(message)
