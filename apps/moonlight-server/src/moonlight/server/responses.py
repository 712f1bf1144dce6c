"""Error answers sent by the ASGI middleware, before any route runs.

One shape everywhere — ``{"detail": "why"}`` as JSON with the security headers — and
never a byte of the request in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


async def send_json_error(
    send: Send,
    status: int,
    detail: str,
    *,
    close: bool = False,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Answer ``{"detail": detail}`` with ``status``; ``close`` ends the connection
    after it (the request body, if any, is then never read)."""
    body = json.dumps({"detail": detail}).encode()
    head = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
        *headers,
    ]
    if close:
        head.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
