"""The supervised connection: connect, authorise, restore, and reconnect with backoff.

A :class:`Link` keeps one :class:`~moonlight.connectors.deriv.transport.Session` alive:

``idle → connecting → authorising → restoring → ready`` and, when the socket drops,
``backoff → connecting → …`` again. ``restoring`` is the connector's hook: it
re-subscribes every stream and reconciles open contracts *before* the link reports
``ready`` -- orders are only sent in ``ready``.

Reconnects wait ``min(reconnect_cap_s, reconnect_base_s × 2^attempt)`` minus a random
jitter; ``attempt`` grows with every failed or short-lived connection and resets once a
connection has lived ``stable_after_s``, so a server that keeps dropping the socket sees
an exponentially slower client, never a storm. Refused credentials or a refused endpoint
end in ``failed``: no retry until an operator acts. :attr:`Link.state` and
:attr:`Link.stats` report all of it; ``on_state`` observers hear every transition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI, WebSocketException

from moonlight.connectors.deriv import codec
from moonlight.connectors.deriv.auth import OtpSource, otp_account_kind
from moonlight.connectors.deriv.config import DerivConfig
from moonlight.connectors.deriv.endpoints import EndpointNotAllowed, check_url
from moonlight.connectors.deriv.errors import error_for
from moonlight.connectors.deriv.protocol import ProtocolError
from moonlight.connectors.deriv.ratelimit import RateLimiter
from moonlight.connectors.deriv.transport import (
    ConnectionLost,
    ReplyTimeout,
    Session,
    SessionStats,
)
from moonlight.core.connectors.contract import AuthFailed, ConnectorError, Disconnected
from moonlight.core.telemetry.pii import register_sensitive

log = logging.getLogger("moonlight.connectors.deriv")

MAX_FRAME_BYTES = 8 * 1024 * 1024


class LinkState(StrEnum):
    """Where the connection is; see the module docstring."""

    IDLE = "idle"
    CONNECTING = "connecting"
    AUTHORISING = "authorising"
    RESTORING = "restoring"
    READY = "ready"
    BACKOFF = "backoff"
    FAILED = "failed"
    CLOSED = "closed"


@dataclass
class LinkStats:
    """What the link has been through (for state reports and tests)."""

    connect_attempts: int = 0
    connections: int = 0
    drops: int = 0
    failed_attempts: int = 0
    last_error: str | None = None
    last_close_code: int | None = None
    backoffs_s: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    transitions: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=1000))


class _Connect(connect):
    """``websockets.connect`` that refuses redirects (they could leave the allowlist)."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        if isinstance(exc, InvalidStatus) and 300 <= exc.response.status_code < 400:
            return EndpointNotAllowed(
                f"the server answered a redirect ({exc.response.status_code}); refused"
            )
        return exc


Restore = Callable[[Session, codec.Authorization], Awaitable[None]]


class Link:
    """One supervised, authorised connection; see the module docstring."""

    def __init__(
        self,
        config: DerivConfig,
        *,
        limiter: RateLimiter,
        session_stats: SessionStats,
        token: Callable[[], str],
        otp: OtpSource | None,
        restore: Restore,
        on_orphan: Callable[..., None],
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._limiter = limiter
        self._session_stats = session_stats
        self._token = token
        self._otp = otp
        self._restore = restore
        self._on_orphan = on_orphan
        self._rng = rng or random.Random()
        self.state = LinkState.IDLE
        self.stats = LinkStats()
        self.failure: str | None = None
        self.authorization: codec.Authorization | None = None
        self.observers: list[Callable[[LinkState, str | None], None]] = []
        self._session: Session | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    # -- public -----------------------------------------------------------------------

    async def start(self) -> None:
        """Run the supervisor (once) and wait until ready; raises on failure or timeout."""
        if self.state is LinkState.CLOSED:
            raise Disconnected("deriv: connector closed")
        if self._task is None or self._task.done():
            self.failure = None
            self._task = asyncio.get_running_loop().create_task(self._run())
        await self.wait_ready(self._config.connect_timeout_s)

    async def wait_ready(self, timeout_s: float) -> None:
        """Wait for ``ready``; :class:`AuthFailed` if the link failed, Disconnected on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if self.state is LinkState.READY:
                return
            if self.state is LinkState.FAILED:
                raise AuthFailed(self.failure or "deriv: connection failed")
            if self.state is LinkState.CLOSED:
                raise Disconnected("deriv: connector closed")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise Disconnected(
                    f"deriv: not connected within {timeout_s:g} s (state {self.state},"
                    f" last error: {self.stats.last_error})"
                )
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def stop(self, *, final: bool = True) -> None:
        """Close the connection: for good (``final``), or back to ``idle`` (start again)."""
        self._set(LinkState.CLOSED if final else LinkState.IDLE, None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def session(self, *, ready: bool) -> Session:
        """The live session: in ``restoring`` or ``ready`` (``ready=True``: only ``ready``)."""
        if self.state is LinkState.FAILED:
            raise AuthFailed(self.failure or "deriv: connection failed")
        allowed = (LinkState.READY,) if ready else (LinkState.READY, LinkState.RESTORING)
        session = self._session
        if self.state not in allowed or session is None or session.closed:
            raise Disconnected(f"deriv: not connected (state {self.state})")
        return session

    # -- supervisor -------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            self.stats.connect_attempts += 1
            self._set(LinkState.CONNECTING, None)
            try:
                session = await asyncio.wait_for(self._open(), self._config.connect_timeout_s)
            except (AuthFailed, EndpointNotAllowed) as error:
                self._fail(str(error))
                return
            except (
                ConnectorError,
                OSError,
                TimeoutError,
                WebSocketException,
                ProtocolError,
            ) as error:
                self.stats.failed_attempts += 1
                self.stats.last_error = f"connect: {error!r}"
                await self._backoff(attempt)
                attempt += 1
                continue
            self._session = session
            self._set(LinkState.RESTORING, None)
            try:
                assert self.authorization is not None
                await self._restore(session, self.authorization)
            except AuthFailed as error:
                self._fail(str(error))
                await session.close()
                return
            except (ConnectorError, ConnectionLost, ReplyTimeout, ProtocolError) as error:
                self.stats.failed_attempts += 1
                self.stats.last_error = f"restore: {error!r}"
                await session.close()
                await self._backoff(attempt)
                attempt += 1
                continue
            if session.closed:
                self.stats.failed_attempts += 1
                await self._backoff(attempt)
                attempt += 1
                continue
            self.stats.connections += 1
            self._set(LinkState.READY, None)
            await session.wait_closed()
            self.stats.drops += 1
            self.stats.last_close_code = session.close_code
            self.stats.last_error = f"dropped: code {session.close_code} {session.close_reason}"
            lived_s = asyncio.get_running_loop().time() - session.opened_at
            log.warning(
                "deriv: connection dropped after %.1f s (%s)", lived_s, session.close_reason
            )
            attempt = 0 if lived_s >= self._config.stable_after_s else attempt + 1
            await self._backoff(attempt)

    async def _backoff(self, attempt: int) -> None:
        config = self._config
        raw = min(config.reconnect_cap_s, config.reconnect_base_s * 2.0 ** min(attempt, 30))
        delay = raw * (1.0 - config.reconnect_jitter * self._rng.random())
        self.stats.backoffs_s.append(delay)
        self._set(LinkState.BACKOFF, self.stats.last_error)
        await asyncio.sleep(delay)

    def _fail(self, reason: str) -> None:
        log.error("deriv: connection failed for good: %s", reason)
        self.failure = reason
        self.stats.last_error = reason
        self._set(LinkState.FAILED, reason)

    def _set(self, state: LinkState, detail: str | None) -> None:
        if state is self.state:
            return
        if self.state is LinkState.CLOSED:
            return
        self.state = state
        self.stats.transitions.append((asyncio.get_running_loop().time(), state.value))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for observer in list(self.observers):
            try:
                observer(state, detail)
            except Exception:
                log.exception("deriv: state observer failed")

    # -- one connection ---------------------------------------------------------------

    async def _open(self) -> Session:
        config = self._config
        token = self._token()
        if config.api == "legacy":
            url = _with_query(config.ws_url, {"app_id": str(config.app_id), "l": "EN"})
            check_url(url, config.allowed_hosts, purpose="ws_url", kind="ws")
        else:
            if self._otp is None:
                raise AuthFailed("deriv: the new API needs an OTP source")
            url = await self._otp.fetch_url(token)
            for otp in parse_qs(urlsplit(url).query).get("otp", []):
                register_sensitive(otp, "deriv_otp")
            check_url(url, config.allowed_hosts, purpose="OTP WebSocket URL", kind="ws")
            kind = otp_account_kind(url)
            if kind != config.account_type:
                raise AuthFailed(
                    f"deriv: the OTP URL opens a {kind or 'unknown'} account but account_type"
                    f" is {config.account_type!r}; refusing to connect"
                )
        socket = await self._dial(url)
        session = Session(
            socket,
            limiter=self._limiter,
            stats=self._session_stats,
            on_orphan=self._on_orphan,
            ping_interval_s=config.ping_interval_s,
            ping_timeout_s=config.ping_timeout_s,
        )
        session.start()
        try:
            self.authorization = await self._authorise(session, token)
        except BaseException:
            await session.close()
            raise
        return session

    async def _dial(self, url: str) -> ClientConnection:
        try:
            return await _Connect(
                url,
                open_timeout=self._config.connect_timeout_s,
                ping_interval=None,
                max_size=MAX_FRAME_BYTES,
                proxy=True if self._config.use_system_proxy else None,
            )
        except InvalidURI as error:
            raise EndpointNotAllowed(f"invalid WebSocket URL: {error}") from error
        except InvalidHandshake as error:
            raise Disconnected(f"deriv: handshake refused: {error}") from error

    async def _authorise(self, session: Session, token: str) -> codec.Authorization:
        config = self._config
        if config.api == "new":
            return codec.Authorization(
                loginid=config.deriv_account_id or "",
                is_virtual=config.account_type == "demo",
                currency=config.currency,
            )
        self._set(LinkState.AUTHORISING, None)
        try:
            reply = await session.request(
                {"authorize": token}, call="authorize", timeout_s=config.request_timeout_s
            )
        except (ConnectionLost, ReplyTimeout) as error:
            raise Disconnected(f"deriv: authorize got no answer: {error}") from error
        if reply.is_error:
            raise error_for(reply, call="authorize", retry_after_s=config.rate_limit_retry_s)
        return codec.authorization(reply.result_object())


def _with_query(url: str, params: dict[str, Any]) -> str:
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode(params)}"
