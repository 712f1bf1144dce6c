"""The live WebSocket ``/api/v1/ws``: authenticate, then stream engine events.

Authentication, in this order (never a query string, which proxies and access logs
keep):

1. a sub-protocol ``moonlight.bearer.<api token>`` offered beside ``moonlight.v1``
   (the server answers ``moonlight.v1``) — for clients that can set it;
2. the dashboard's session cookie (sent by the browser with the handshake; the request
   guard has already checked the handshake's Origin and Host);
3. otherwise the first message, within ``ws_auth_timeout_s``:
   ``{"type": "auth", "token": "<api token>"}``.

Wrong credentials count against the client like any failed authentication — a binary
first frame too (the protocol is JSON text) — and a correct one is accepted even from a
locked-out address. After authentication the server sends ``hello`` and then every
event; the client's messages are read only to notice it leaving. Close codes: 4401
unauthenticated, 4429 throttled, 1003 a binary frame, 4008 too slow (see
:mod:`moonlight.server.hub`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from moonlight.core.runtime.control import EngineBusy
from moonlight.server.auth import SESSION_COOKIE, WS_BEARER_PREFIX, WS_PROTOCOL
from moonlight.server.context import ServerContext
from moonlight.server.hub import CLOSE_TOO_SLOW, Subscriber
from moonlight.server.status import server_version

log = logging.getLogger("moonlight.server.ws")
router = APIRouter()

CLOSE_UNAUTHENTICATED = 4401
CLOSE_THROTTLED = 4429
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_TRY_AGAIN = 1013
CLOSE_TIMEOUT_S = 2.0


async def _authenticate(websocket: WebSocket, context: ServerContext) -> bool:
    """Accept and authenticate the socket; False after closing it.

    A correct credential is accepted even from a locked-out address; a wrong one is
    counted (4429 once locked out, else 4401, or 1003 for a binary auth frame).
    """
    auth = context.auth
    client = websocket.client.host if websocket.client else "unknown"
    offered = list(websocket.scope.get("subprotocols", []))
    subprotocol = WS_PROTOCOL if WS_PROTOCOL in offered else None
    bearer = [p for p in offered if p.startswith(WS_BEARER_PREFIX)]
    cookie = websocket.cookies.get(SESSION_COOKIE)
    await websocket.accept(subprotocol=subprotocol)
    good: bool | None
    binary = False
    if bearer:
        good = auth.token_matches(bearer[0][len(WS_BEARER_PREFIX) :])
    elif cookie is not None:
        good = auth.session_valid(cookie)
    else:
        good, binary = await _first_message_auth(websocket, context)
    if good:
        return True
    if good is None:  # presented nothing: not a guess, not counted
        code = CLOSE_THROTTLED if auth.lockout(client) else CLOSE_UNAUTHENTICATED
        with contextlib.suppress(Exception):
            await websocket.close(code, "authentication required")
        return False
    if auth.refuse_guess(client).status == 429:
        code, reason = CLOSE_THROTTLED, "too many failed authentications"
    elif binary:
        code, reason = CLOSE_UNSUPPORTED_DATA, "binary frames are not accepted"
    else:
        code, reason = CLOSE_UNAUTHENTICATED, "authentication failed"
    with contextlib.suppress(Exception):
        await websocket.close(code, reason)
    return False


async def _first_message_auth(
    websocket: WebSocket, context: ServerContext
) -> tuple[bool | None, bool]:
    """(True/False for a right/wrong auth message, None when the client sent nothing;
    whether the message was a binary frame)."""
    try:
        message = await asyncio.wait_for(
            websocket.receive(), timeout=context.settings.ws_auth_timeout_s
        )
    except (TimeoutError, WebSocketDisconnect, RuntimeError):
        return None, False
    if message["type"] != "websocket.receive":
        return None, False
    text = message.get("text")
    if text is None:
        return False, True
    try:
        parsed = json.loads(text)
    except ValueError:
        return False, False
    token = parsed.get("token") if isinstance(parsed, dict) else None
    good = (
        isinstance(parsed, dict)
        and parsed.get("type") == "auth"
        and isinstance(token, str)
        and context.auth.token_matches(token)
    )
    return good, False


async def _pump(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Send queued messages in order, for as long as the client keeps up."""
    while True:
        await websocket.send_text(await subscriber.queue.get())


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it disconnects; a binary frame
    (the protocol is JSON text) closes the socket with 1003."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is None:
                await websocket.close(CLOSE_UNSUPPORTED_DATA, "binary frames are not accepted")
                return


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    """Stream ``decision``, ``order_state``, ``result``, ``alarm`` and ``metrics``."""
    context: ServerContext = websocket.app.state.moonlight
    if not await _authenticate(websocket, context):
        return
    hub = context.hub
    try:
        snapshot = await context.control.metrics_snapshot()
    except EngineBusy:
        with contextlib.suppress(Exception):
            await websocket.close(CLOSE_TRY_AGAIN, "the engine is not answering")
        return
    subscriber = hub.subscribe()
    hello = {
        "type": "hello",
        "seq": 0,
        "data": {"version": server_version(), "queue_size": hub.queue_size, "metrics": snapshot},
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
