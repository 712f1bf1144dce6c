"""One WebSocket to Deriv: req_id correlation, stream routing, keepalive ping.

A :class:`Session` owns one open socket. :meth:`Session.request` paces the call through
the :class:`~moonlight.connectors.deriv.ratelimit.RateLimiter`, stamps a fresh ``req_id``,
writes the frame and waits for the reply with that ``req_id`` -- replies may arrive in
any order. A request may register a *stream handler*: every later message with the same
``req_id`` (or its ``subscription.id``) goes to it (ticks, ohlc, contract updates).

What a caller learns when things go wrong -- the distinction the order path rests on:

* :class:`~moonlight.core.connectors.contract.Disconnected` -- the frame was **not**
  written (no socket, or the write failed);
* :class:`~moonlight.core.connectors.contract.RateLimited` -- the client-side budget
  refused the call before writing;
* :class:`ConnectionLost` -- the frame was written and the socket died before the reply;
* :class:`ReplyTimeout` -- the frame was written and no reply came in time.

A reply that arrives after its request timed out is handed to ``on_orphan`` (the
connector learns late ``buy`` answers that way). Undecodable frames are counted and
skipped; nothing a server sends can stop the reader.

Every ``ping_interval_s`` the session sends ``{"ping": 1}``; without a pong within
``ping_timeout_s`` the socket is aborted, which the supervising link treats as a drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from moonlight.connectors.deriv.protocol import Message, ProtocolError, encode, parse_frame
from moonlight.connectors.deriv.ratelimit import RateLimiter
from moonlight.core.connectors.contract import Disconnected, RateLimited

log = logging.getLogger("moonlight.connectors.deriv")

StreamHandler = Callable[[Message], None]


class ConnectionLost(Exception):
    """The request was written, then the socket closed before its reply."""


class ReplyTimeout(Exception):
    """The request was written and no reply arrived within the timeout."""


@dataclass
class SessionStats:
    """Counters of one connector across its sessions (shared, cumulative)."""

    sent: Counter[str] = field(default_factory=Counter)
    received: int = 0
    bad_frames: int = 0
    orphans: int = 0
    ping_timeouts: int = 0
    handler_errors: int = 0


@dataclass
class _Pending:
    call: str
    future: asyncio.Future[Message]
    stream: StreamHandler | None


class Session:
    """One open socket; see the module docstring."""

    _ids = itertools.count(1)

    def __init__(
        self,
        socket: ClientConnection,
        *,
        limiter: RateLimiter,
        stats: SessionStats,
        on_orphan: Callable[[Message], None],
        ping_interval_s: float,
        ping_timeout_s: float,
    ) -> None:
        self._socket = socket
        self._limiter = limiter
        self.stats = stats
        self._on_orphan = on_orphan
        self._ping_interval_s = ping_interval_s
        self._ping_timeout_s = ping_timeout_s
        self._pending: dict[int, _Pending] = {}
        self._streams: dict[int, StreamHandler] = {}
        self._subscriptions: dict[str, int] = {}
        self._closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.opened_at = asyncio.get_running_loop().time()
        self.close_code: int | None = None
        self.close_reason: str = ""

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader and the keepalive ping."""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read()), loop.create_task(self._ping())]

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        """Return once the socket is closed and every waiter has been failed."""
        await self._closed.wait()

    def abort(self, reason: str) -> None:
        """Drop the socket at once (no closing handshake), e.g. after a missed pong."""
        log.warning("deriv: dropping the connection: %s", reason)
        self.close_reason = reason
        self._socket.transport.abort()

    async def close(self) -> None:
        """Close the socket politely, stop the tasks, fail every waiter."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._socket.close(), timeout=2.0)
        if not self._closed.is_set():
            self._socket.transport.abort()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._finish()

    # -- requests ---------------------------------------------------------------------

    async def request(
        self,
        payload: Mapping[str, Any],
        *,
        call: str,
        timeout_s: float,
        stream: StreamHandler | None = None,
    ) -> Message:
        """Send one call and return its reply (which may be an error reply)."""
        if self.closed:
            raise Disconnected("deriv: connection closed; request not sent")
        await self._limiter.acquire(call)
        if self.closed:
            self._limiter.release(call, sent=False)
            raise Disconnected("deriv: connection closed; request not sent")
        req_id = next(self._ids)
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = _Pending(call, future, stream)
        try:
            await self._socket.send(encode({**payload, "req_id": req_id}))
        except (ConnectionClosed, OSError) as error:
            self._pending.pop(req_id, None)
            self._limiter.release(call, sent=False)
            raise Disconnected(f"deriv: {call} not sent: {error}") from error
        except BaseException:  # cancelled mid-write: it may have left
            self._pending.pop(req_id, None)
            self._limiter.release(call)
            raise
        self.stats.sent[call] += 1
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError as error:
            raise ReplyTimeout(f"deriv: no reply to {call} within {timeout_s:g} s") from error
        finally:
            self._pending.pop(req_id, None)
            self._limiter.release(call)  # stamped when it ended (see ratelimit)

    def forget(self, req_id: int) -> str | None:
        """Stop routing a stream; returns its subscription id (for a ``forget`` call)."""
        self._streams.pop(req_id, None)
        for sub_id, owner in list(self._subscriptions.items()):
            if owner == req_id:
                del self._subscriptions[sub_id]
                return sub_id
        return None

    def stream_of(self, message: Message) -> int | None:
        """The req_id of the stream a message belongs to (None for plain replies)."""
        if message.req_id is not None and message.req_id in self._streams:
            return message.req_id
        if message.subscription_id is not None:
            return self._subscriptions.get(message.subscription_id)
        return None

    # -- reader and keepalive ---------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for raw in self._socket:
                self.stats.received += 1
                try:
                    message = parse_frame(raw)
                except ProtocolError as error:
                    self.stats.bad_frames += 1
                    log.warning("deriv: skipped a malformed frame: %s", error)
                    continue
                try:
                    self._dispatch(message)
                except Exception:  # a handler bug must never stop the reader
                    self.stats.handler_errors += 1
                    log.exception("deriv: handler failed on %s", message.msg_type)
        except ConnectionClosed as closed:  # a normal end of the loop; codes kept below
            log.debug("deriv: socket closed: %s", closed)
        except OSError as error:
            self.close_reason = self.close_reason or str(error)
        finally:
            self.close_code = self._socket.close_code
            self.close_reason = self.close_reason or (self._socket.close_reason or "")
            self._finish()

    def _dispatch(self, message: Message) -> None:
        req_id = message.req_id
        if req_id is not None:
            pending = self._pending.get(req_id)
            if pending is not None and not pending.future.done():
                if pending.stream is not None and not message.is_error:
                    self._streams[req_id] = pending.stream
                    if message.subscription_id is not None:
                        self._subscriptions[message.subscription_id] = req_id
                pending.future.set_result(message)
                return
        owner = self.stream_of(message)
        if owner is not None:
            if message.subscription_id is not None:
                self._subscriptions.setdefault(message.subscription_id, owner)
            self._streams[owner](message)
            return
        self.stats.orphans += 1
        self._on_orphan(message)

    async def _ping(self) -> None:
        while not self.closed:
            await asyncio.sleep(self._ping_interval_s)
            try:
                await self.request({"ping": 1}, call="ping", timeout_s=self._ping_timeout_s)
            except ReplyTimeout:
                self.stats.ping_timeouts += 1
                self.abort(f"no pong within {self._ping_timeout_s:g} s")
                return
            except RateLimited:
                continue
            except (Disconnected, ConnectionLost):
                return

    def _finish(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(ConnectionLost("deriv: connection lost"))
        self._streams.clear()
        self._subscriptions.clear()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
