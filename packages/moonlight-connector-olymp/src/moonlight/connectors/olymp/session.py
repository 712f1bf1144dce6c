"""The WebSocket session: connect, correlate replies, keep alive, reconnect, authenticate.

One :class:`OlympSession` owns at most one socket at a time and a supervisor task that:

1. opens the socket with the ``access_token`` cookie (no in-band login exists, brief 3.1);
2. runs the owner's ``on_open`` coroutine — bootstrap, re-subscription and
   reconciliation — while replies are already being received, then declares the
   session **ready** (only then may orders go out);
3. pings with e:90 every ``ping_interval_s`` (replies carry server time ``ts``);
4. when the socket ends, fails every pending request, tells the owner (``on_lost``) and
   reconnects after a capped exponential backoff with jitter. The backoff is reset only
   after a connection stayed up ``stable_after_s``, so a server that accepts and drops
   at once still sees a slowing client, never a storm;
5. on close code 1008 ``invalid_token`` (or HTTP 401/403 on the upgrade) renews the
   token once through the refresh token; if that is impossible or the renewed token is
   refused too, the session stops in state ``auth_failed`` and never reconnects on its
   own.

Errors of :meth:`OlympSession.request` say whether the request reached the wire:
:class:`NotWritten` (it did not), :class:`ReplyLost` (written, then the socket dropped)
and :class:`ReplyTimeout` (written, no reply in time). Order placement turns the last two
into :class:`~moonlight.core.connectors.contract.Ambiguous`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State

from moonlight.connectors.olymp.config import OlympConfig
from moonlight.connectors.olymp.http_api import OlympHttp
from moonlight.connectors.olymp.protocol import (
    Event,
    Message,
    encode,
    new_uuid,
    parse_frame,
    request,
)
from moonlight.connectors.olymp.redact import WIRE_LOG
from moonlight.connectors.olymp.safety import check_url
from moonlight.connectors.olymp.server_clock import ClockOffset
from moonlight.core.connectors.contract import AuthFailed, Disconnected, Transient
from moonlight.core.execution.retry import Backoff

log = logging.getLogger("moonlight.connectors.olymp")

CLOSE_POLICY_VIOLATION = 1008
INVALID_TOKEN = "invalid_token"


class SessionState(StrEnum):
    """Where the session is; ``ready`` is the only state in which orders may be sent."""

    IDLE = "idle"
    CONNECTING = "connecting"
    BOOTSTRAPPING = "bootstrapping"
    READY = "ready"
    BACKOFF = "backoff"
    AUTH_FAILED = "auth_failed"
    FAILED = "failed"
    CLOSED = "closed"


class NotWritten(Disconnected):
    """The request was not written: no open socket."""


class ReplyLost(Disconnected):
    """The request was written but the socket dropped before its reply."""


class ReplyTimeout(Transient):
    """The request was written and no reply came in time."""


@dataclass
class SessionStats:
    """Counters an operator (or a test) reads to see how the session is doing."""

    connect_attempts: int = 0
    connects: int = 0
    disconnects: int = 0
    ready_count: int = 0
    renewals: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    malformed_items: int = 0
    handler_errors: int = 0
    unknown_events: dict[int, int] = field(default_factory=dict)
    last_close_code: int | None = None
    last_close_reason: str | None = None
    last_error: str | None = None
    attempt_times: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    backoff_delays_s: deque[float] = field(default_factory=lambda: deque(maxlen=1000))


@dataclass
class _Pending:
    future: asyncio.Future[Message]
    match: Callable[[Message], bool] | None


OnPush = Callable[[Message], None]
OnOpen = Callable[[], Awaitable[None]]
OnLost = Callable[[], None]


class OlympSession:
    """One supervised WebSocket session; see the module docstring."""

    def __init__(
        self,
        config: OlympConfig,
        http: OlympHttp,
        *,
        on_push: OnPush,
        on_open: OnOpen,
        on_lost: OnLost,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.http = http
        self.stats = SessionStats()
        self.clock = ClockOffset()
        self._on_push = on_push
        self._on_open = on_open
        self._on_lost = on_lost
        self._rng = rng or random.Random()
        self._backoff = Backoff(
            base_s=config.reconnect_base_s,
            cap_s=config.reconnect_cap_s,
            jitter=config.reconnect_jitter,
        )
        self._state = SessionState.IDLE
        self._ws: ClientConnection | None = None
        self._pending: dict[str, _Pending] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._dead = asyncio.Event()
        self._failure: Exception | None = None
        self._renew_allowed = True
        self._last_subscribe = 0.0
        self._subscribe_lock = asyncio.Lock()
        self._closing: asyncio.Task[None] | None = None
        self.state_listeners: list[Callable[[SessionState], None]] = []

    # -- state ------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The current :class:`SessionState`."""
        return self._state

    @property
    def ready(self) -> bool:
        """True while orders may be sent."""
        return self._state is SessionState.READY

    def _set_state(self, state: SessionState) -> None:
        if state is self._state:
            return
        log.info("olymp session %s -> %s", self._state.value, state.value)
        self._state = state
        if state is SessionState.READY:
            self._ready.set()
        else:
            self._ready.clear()
        for listener in list(self.state_listeners):
            try:
                listener(state)
            except Exception:  # an observer must not break the session
                log.exception("olymp state listener failed")

    def server_now(self) -> float:
        """Server time estimated from the local clock and the measured offset."""
        return time.time() + self.clock.offset_s

    # -- life cycle -------------------------------------------------------------------

    async def start(self, timeout_s: float) -> None:
        """Start the supervisor (if needed) and wait until ready; raises when it cannot."""
        if self._supervisor is None or self._supervisor.done():
            self._failure = None
            self._dead.clear()
            self._renew_allowed = True
            self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        await self.wait_ready(timeout_s)

    async def stop(self) -> None:
        """Close the socket and stop reconnecting (idempotent)."""
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        self._fail_pending(NotWritten("olymp session closed"))
        if self._failure is None:
            self._failure = Disconnected("olymp connector is closed")
        self._dead.set()
        self._set_state(SessionState.CLOSED)

    async def wait_ready(self, timeout_s: float) -> None:
        """Return once ready; raise AuthFailed / Disconnected when that will not happen."""
        if self._state is SessionState.READY:
            return
        if self._dead.is_set() or self._supervisor is None:
            raise self._failure or Disconnected("olymp connector is not connected")
        ready = asyncio.ensure_future(self._ready.wait())
        dead = asyncio.ensure_future(self._dead.wait())
        try:
            await asyncio.wait(
                {ready, dead}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ready.cancel()
            dead.cancel()
        if self.ready:
            return
        if self._dead.is_set():
            raise self._failure or Disconnected("olymp connector is not connected")
        raise Disconnected(
            f"olymp session not ready after {timeout_s:g} s (state {self._state.value},"
            f" last error: {self.stats.last_error})"
        )

    # -- requests ---------------------------------------------------------------------

    def new_uuid(self) -> str:
        """A fresh correlation id."""
        return new_uuid(self._rng)

    async def request(
        self,
        event: int,
        data: object,
        *,
        timeout_s: float,
        uuid: str | None = None,
        match: Callable[[Message], bool] | None = None,
    ) -> Message:
        """Send a request and return its reply (matched by uuid, else by ``match``)."""
        ws = self._ws
        if ws is None or ws.state is not State.OPEN:
            raise NotWritten(f"e:{event} not sent: no open olymp socket")
        uid = uuid or self.new_uuid()
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[uid] = _Pending(future, match)
        try:
            try:
                await ws.send(encode([request(event, data, uid)]))
            except ConnectionClosed:
                raise NotWritten(f"e:{event} not sent: the socket closed") from None
            self.stats.frames_sent += 1
            try:
                return await asyncio.wait_for(future, timeout_s)
            except TimeoutError:
                raise ReplyTimeout(f"no reply to e:{event} within {timeout_s:g} s") from None
        finally:
            self._pending.pop(uid, None)

    async def send(self, event: int, data: object) -> None:
        """Fire-and-forget request without uuid."""
        ws = self._ws
        if ws is None or ws.state is not State.OPEN:
            raise NotWritten(f"e:{event} not sent: no open olymp socket")
        try:
            await ws.send(encode([request(event, data)]))
        except ConnectionClosed:
            raise NotWritten(f"e:{event} not sent: the socket closed") from None
        self.stats.frames_sent += 1

    async def subscription_slot(self) -> None:
        """Wait until a subscription request may go out (``subscribe_interval_s`` spacing)."""
        async with self._subscribe_lock:
            wait = self._last_subscribe + self.config.subscribe_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_subscribe = time.monotonic()

    async def ping(self) -> float:
        """e:90; records the server time it carries and returns this ping's own sample
        of the offset (server minus local seconds); Transient if the reply has no ``ts``."""
        sent = time.time()
        reply = await self.request(Event.PING, {}, timeout_s=self.config.request_timeout_s)
        received = time.time()
        if reply.ts is None:
            raise Transient("e:90 reply without a server time (ts)")
        return self.clock.add_ping(reply.ts, sent, received)

    def drop(self) -> None:
        """Close the socket now (the supervisor reconnects); used on keepalive failure."""
        ws = self._ws
        if ws is not None and (self._closing is None or self._closing.done()):
            self._closing = asyncio.get_running_loop().create_task(ws.close(1011, "keepalive"))

    # -- supervisor -------------------------------------------------------------------

    async def _supervise(self) -> None:
        attempt = 0
        failures = 0
        while True:
            self._set_state(SessionState.CONNECTING)
            self.stats.connect_attempts += 1
            self.stats.attempt_times.append(time.monotonic())
            outcome = await self._run_once()
            if outcome == "renewed":
                continue
            if outcome == "dead":
                return
            if outcome == "stable":
                attempt = 0
                failures = 0
            else:
                failures += 1
            limit = self.config.max_reconnect_attempts
            if limit is not None and failures >= limit:
                self._die(
                    SessionState.FAILED,
                    Disconnected(f"olymp: gave up after {failures} failed connection attempts"),
                )
                return
            delay = self._backoff.delay_s(attempt, self._rng)
            attempt += 1
            self.stats.backoff_delays_s.append(delay)
            self._set_state(SessionState.BACKOFF)
            await asyncio.sleep(delay)

    def _die(self, state: SessionState, error: Exception) -> None:
        self._failure = error
        self._dead.set()
        self._set_state(state)
        log.error("olymp session stopped: %s", error)

    async def _auth_rejected(self, why: str) -> str:
        """Renew once; ``"renewed"`` to reconnect at once, ``"dead"`` when auth failed."""
        if self._renew_allowed and self.http.tokens.can_renew:
            self._renew_allowed = False
            try:
                await self.http.renew()
            except AuthFailed as error:
                self._die(SessionState.AUTH_FAILED, AuthFailed(f"{why}; {error}"))
                return "dead"
            self.stats.renewals += 1
            return "renewed"
        self._die(
            SessionState.AUTH_FAILED,
            AuthFailed(
                f"{why}; no renewal possible — store a fresh token with `moonlight secrets`"
            ),
        )
        return "dead"

    async def _run_once(self) -> str:
        """One connection's life; returns ``stable``, ``short``, ``renewed`` or ``dead``."""
        url = check_url(
            self.config.ws_url, self.config.allowed_hosts, purpose="ws_url", schemes=("wss",)
        )
        try:
            ws = await connect(
                url,
                origin=None,
                additional_headers={
                    "Cookie": self.http.tokens.cookie(),
                    "Origin": self.config.origin,
                },
                user_agent_header=self.config.user_agent,
                proxy=None,
                open_timeout=self.config.request_timeout_s,
                ping_interval=None,
                close_timeout=1.0,
                max_size=4 * 1024 * 1024,
                logger=WIRE_LOG,
            )
        except InvalidStatus as error:
            status = error.response.status_code
            self.stats.last_error = f"upgrade refused: HTTP {status}"
            if status in (401, 403):
                return await self._auth_rejected(f"upgrade refused with HTTP {status}")
            return "short"
        except (OSError, TimeoutError, InvalidHandshake) as error:
            self.stats.last_error = f"connect failed: {type(error).__name__}: {error}"
            log.warning("olymp %s", self.stats.last_error)
            return "short"
        self.stats.connects += 1
        self._ws = ws
        opened = time.monotonic()
        receiver = asyncio.get_running_loop().create_task(self._receive(ws))
        keepalive: asyncio.Task[None] | None = None
        try:
            self._set_state(SessionState.BOOTSTRAPPING)
            await self._on_open()
            if ws.state is State.OPEN:
                self.stats.ready_count += 1
                self._set_state(SessionState.READY)
                keepalive = asyncio.get_running_loop().create_task(self._keepalive())
            await receiver
        except Exception as error:  # a failed bootstrap (or a bug in it): reconnect
            self.stats.last_error = f"bootstrap failed: {type(error).__name__}: {error}"
            log.warning("olymp %s", self.stats.last_error)
            with contextlib.suppress(Exception):
                await ws.close()
            with contextlib.suppress(Exception):
                await receiver
        finally:
            if keepalive is not None:
                keepalive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keepalive
            if not receiver.done():
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await receiver
            self._ws = None
            if ws.state is not State.CLOSED:  # stopped (cancelled) while open: close it
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await ws.close()
            self._ready.clear()
            self._fail_pending(ReplyLost("the olymp socket closed before the reply"))
            self.stats.disconnects += 1
            self.stats.last_close_code = ws.close_code
            self.stats.last_close_reason = ws.close_reason
            try:
                self._on_lost()
            except Exception:
                log.exception("olymp on_lost handler failed")
        lived = time.monotonic() - opened
        if ws.close_code == CLOSE_POLICY_VIOLATION and INVALID_TOKEN in (ws.close_reason or ""):
            return await self._auth_rejected("the server closed the socket: 1008 invalid_token")
        if lived >= self.config.stable_after_s:
            self._renew_allowed = True
            return "stable"
        return "short"

    async def _receive(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self.stats.frames_received += 1
                self._handle_frame(raw)
        except ConnectionClosed:
            pass

    def _handle_frame(self, raw: str | bytes) -> None:
        messages, problems = parse_frame(raw)
        if problems:
            self.stats.malformed_items += len(problems)
            log.warning("olymp: dropped %d malformed item(s): %s", len(problems), problems[0])
        for message in messages:
            self._dispatch(message)

    def _dispatch(self, message: Message) -> None:
        if message.uuid is not None and message.t != 2:
            pending = self._pending.get(message.uuid)
            if pending is not None:
                if not pending.future.done():
                    pending.future.set_result(message)
                return
        if message.uuid is None:
            for pending in self._pending.values():
                if pending.match is not None and not pending.future.done():
                    try:
                        matched = pending.match(message)
                    except Exception:
                        matched = False
                    if matched:
                        pending.future.set_result(message)
                        return
        try:
            self._on_push(message)
        except Exception:
            self.stats.handler_errors += 1
            log.exception("olymp: handler of e:%s failed; message dropped", message.e)

    def _fail_pending(self, error: Exception) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
                # The awaiting request() retrieves it; mark it retrieved for the others.
                pending.future.exception()
        self._pending.clear()

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval_s)
            try:
                await self.ping()
            except ReplyTimeout:
                self.stats.last_error = "keepalive ping timed out"
                log.warning("olymp keepalive ping timed out; reconnecting")
                self.drop()
                return
            except Disconnected:
                return
            except Transient as error:  # answered, without a time: alive all the same
                log.info("olymp keepalive: %s", error)
