"""The WebSocket fan-out: engine events to every connected client, never the reverse.

The engine calls :meth:`Hub.publish` synchronously on its own loop (from its event
listener and the alarm center). ``publish`` hands the event over to the API's loop
(``call_soon_threadsafe``: the engine never waits for it), where it is serialised once
and put into each client's bounded queue with ``put_nowait``: never awaits, never blocks.
A client whose queue is full — it reads slower than the engine produces — is marked
dropped and disconnected (close code 4008) by its own sender task; the engine and the
other clients carry on. Each client's sender is the only thing that awaits the socket.

Messages are JSON objects ``{"type": ..., "seq": n, "data": {...}}`` with ``type`` one of
``hello``, ``decision``, ``order_state``, ``result``, ``alarm``, ``metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from moonlight.core.events import AlarmRaised, OrderSettled, OrderStateChanged

log = logging.getLogger("moonlight.server.ws")

CLOSE_TOO_SLOW = 4008
"""WebSocket close code for a client that fell ``queue_size`` messages behind."""


@dataclass(eq=False)
class Subscriber:
    """One connected client: its bounded queue, and ``gone`` once it was dropped."""

    queue: asyncio.Queue[str]
    gone: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def dropped(self) -> bool:
        return self.gone.is_set()

    def offer(self, message: str) -> bool:
        """Queue ``message``; False (and dropped) when the queue is full."""
        if self.gone.is_set():
            return False
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.gone.set()
            while not self.queue.empty():  # the backlog will never be sent
                self.queue.get_nowait()
            return False
        return True


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def event_message(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The WebSocket ``(type, data)`` for an engine event, or None if not streamed."""
    if isinstance(event, OrderStateChanged):
        return "order_state", _plain(asdict(event))
    if isinstance(event, OrderSettled):
        return "result", _plain(asdict(event))
    if isinstance(event, AlarmRaised):
        data = _plain(asdict(event))
        data["level"] = event.level.value
        return "alarm", data
    return None


class Hub:
    """Fans engine events out to WebSocket subscribers with per-client back-pressure."""

    def __init__(self, *, queue_size: int) -> None:
        self.queue_size = queue_size
        self.subscribers: set[Subscriber] = set()
        self.published = 0
        self.dropped_clients = 0
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the subscribers live on (events from other threads hop onto it)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def subscribe(self) -> Subscriber:
        if self._loop is None:
            self.bind(asyncio.get_running_loop())
        subscriber = Subscriber(asyncio.Queue(maxsize=self.queue_size))
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    # ------------------------------------------------------------------ producers

    def on_engine_event(self, hook_name: str, event: Any) -> None:
        """Engine listener: order state changes (and decisions) and results.

        Alarms reach the hub through the alarm center instead (every alarm passes
        there, including those the engine raises itself), so they are skipped here.
        """
        if isinstance(event, AlarmRaised):
            return
        if isinstance(event, OrderStateChanged) and event.from_state == "IDLE":
            self.publish("decision", _plain(asdict(event)))
        found = event_message(event)
        if found is not None:
            self.publish(*found)

    def on_alarm(self, event: AlarmRaised) -> None:
        """Alarm-center listener."""
        found = event_message(event)
        if found is not None:
            self.publish(*found)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Serialise once and offer to every subscriber; never waits."""
        if not self.subscribers:
            return
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            with contextlib.suppress(RuntimeError):  # the API's loop has closed: no one left
                self._loop.call_soon_threadsafe(self.publish, kind, data)
            return
        self._seq += 1
        text = json.dumps({"type": kind, "seq": self._seq, "data": data}, default=str)
        self.published += 1
        for subscriber in list(self.subscribers):
            if not subscriber.offer(text):
                self.subscribers.discard(subscriber)
                self.dropped_clients += 1
                log.warning("WebSocket client too slow (%d queued): dropped", self.queue_size)
