"""Request bodies: small, bounded in time, read before the app sees them — or refused.

Every body the API accepts is a small JSON document (a kill-switch reason, a worker
selection, an override tree). So, as plain ASGI middleware in front of the app:

* a declared ``Content-Length`` above ``max_body_bytes`` is answered **413 before a
  byte of the body is read** (and the connection is closed, so the rest is never
  read either);
* a body without a length (chunked) is read up to ``max_body_bytes`` and refused
  with 413 the moment it exceeds it;
* the whole body must arrive within ``body_timeout_s`` of the head (408 otherwise), so
  a client trickling bytes cannot hold a connection busy.

The body is then replayed to the app in one message. A refusal never echoes any of
the body back.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moonlight.server.responses import send_json_error


class BodyLimit:
    """ASGI middleware enforcing the size and time limits of request bodies."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await send_json_error(send, 400, "malformed Content-Length", close=True)
            return
        if declared is not None and declared > self.max_bytes:
            await send_json_error(send, 413, self._too_large(), close=True)
            return
        try:
            body = await asyncio.wait_for(self._read(receive), self.timeout_s)
        except TimeoutError:
            await send_json_error(send, 408, "request body not received in time", close=True)
            return
        except _TooLarge:
            await send_json_error(send, 413, self._too_large(), close=True)
            return
        except _Disconnected:
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: only a disconnect can come
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent, -1 when malformed."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None
