"""The live WebSocket ``/api/v1/ws``: authenticate, then stream engine events.

Authentication, in this order (never a query string, which proxies and access logs
keep):

1. a sub-protocol ``moonlight.bearer.<api token>`` offered beside ``moonlight.v1``
   (the server answers ``moonlight.v1``) — for clients that can set it;
2. the dashboard's session cookie (sent by the browser with the handshake; the request
   guard has already checked the handshake's Origin and Host);
3. otherwise the first message, within ``ws_auth_timeout_s``:
   ``{"type": "auth", "token": "<api token>"}``.

Wrong credentials count against the client like any failed authentication. After
authentication the server sends ``hello`` and then every event; the client's messages
are read only to notice it leaving. Close codes: 4401 unauthenticated, 4429 throttled,
4008 too slow (see :mod:`moonlight.server.hub`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from moonlight.server.auth import SESSION_COOKIE, WS_BEARER_PREFIX, WS_PROTOCOL
from moonlight.server.context import ServerContext
from moonlight.server.hub import CLOSE_TOO_SLOW, Subscriber
from moonlight.server.status import metrics_snapshot, server_version

log = logging.getLogger("moonlight.server.ws")
router = APIRouter()

CLOSE_UNAUTHENTICATED = 4401
CLOSE_THROTTLED = 4429
CLOSE_TIMEOUT_S = 2.0


async def _authenticate(websocket: WebSocket, context: ServerContext) -> bool:
    """Accept and authenticate the socket; False after closing it."""
    auth = context.auth
    client = websocket.client.host if websocket.client else "unknown"
    offered = list(websocket.scope.get("subprotocols", []))
    subprotocol = WS_PROTOCOL if WS_PROTOCOL in offered else None
    if auth.throttle.retry_after_s(client) > 0:
        await websocket.accept(subprotocol=subprotocol)
        await websocket.close(CLOSE_THROTTLED, "too many failed authentications")
        return False
    bearer = [p for p in offered if p.startswith(WS_BEARER_PREFIX)]
    cookie = websocket.cookies.get(SESSION_COOKIE)
    await websocket.accept(subprotocol=subprotocol)
    good: bool | None
    if bearer:
        good = auth.token_matches(bearer[0][len(WS_BEARER_PREFIX) :])
    elif cookie is not None:
        good = auth.session_valid(cookie)
    else:
        good = await _first_message_auth(websocket, context)
    if good:
        return True
    if good is None:  # presented nothing: not a guess, not counted
        with contextlib.suppress(Exception):
            await websocket.close(CLOSE_UNAUTHENTICATED, "authentication required")
        return False
    locked = auth.throttle.failed(client)
    await websocket.close(
        CLOSE_THROTTLED if locked else CLOSE_UNAUTHENTICATED, "authentication failed"
    )
    return False


async def _first_message_auth(websocket: WebSocket, context: ServerContext) -> bool | None:
    """True/False for a right/wrong auth message; None when the client sent nothing."""
    try:
        text = await asyncio.wait_for(
            websocket.receive_text(), timeout=context.settings.ws_auth_timeout_s
        )
    except (TimeoutError, WebSocketDisconnect, RuntimeError):
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return False
    token = message.get("token") if isinstance(message, dict) else None
    return (
        isinstance(message, dict)
        and message.get("type") == "auth"
        and isinstance(token, str)
        and context.auth.token_matches(token)
    )


async def _pump(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Send queued messages in order, for as long as the client keeps up."""
    while True:
        await websocket.send_text(await subscriber.queue.get())


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    """Stream ``decision``, ``order_state``, ``result``, ``alarm`` and ``metrics``."""
    context: ServerContext = websocket.app.state.moonlight
    if not await _authenticate(websocket, context):
        return
    hub = context.hub
    subscriber = hub.subscribe()
    hello = {
        "type": "hello",
        "seq": 0,
        "data": {
            "version": server_version(),
            "queue_size": hub.queue_size,
            "metrics": metrics_snapshot(context.engine),
        },
    }
    tasks: set[asyncio.Task[object]] = set()
    try:
        await websocket.send_text(json.dumps(hello, default=str))
        pump = asyncio.ensure_future(_pump(websocket, subscriber))
        tasks = {pump, asyncio.ensure_future(_drain(websocket))}
        tasks.add(asyncio.ensure_future(subscriber.gone.wait()))
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (WebSocketDisconnect, RuntimeError, OSError):
        log.debug("WebSocket client left")
    finally:
        hub.unsubscribe(subscriber)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if subscriber.dropped:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                websocket.close(CLOSE_TOO_SLOW, "client too slow"), CLOSE_TIMEOUT_S
            )
