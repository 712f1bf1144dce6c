"""The Olymp web protocol's envelope: JSON arrays of ``{e, t, d, uuid, ts, err}`` objects.

Every frame, in either direction, is a JSON array of message objects; the server batches
several events into one frame (brief 4.1). ``t`` is 2 for a client request, 3 for a
reply (echoing the request's ``uuid``) and 1 — or absent — for a server push. ``ts`` is
server time in seconds; ``err`` marks an error reply (e.g. ``invalid_request``).

:func:`parse_frame` never raises: a frame that is not JSON, not an array of objects, or
whose items lack a valid integer ``e`` yields problems to log, and the valid items of
the frame are still delivered. The connector logs and drops what it cannot use.
"""

from __future__ import annotations

import json
import math
import random
import string
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Event(IntEnum):
    """Event codes MoonLight uses (brief 4.3); any other code is logged and ignored."""

    TICK = 1
    CANDLES = 10
    TICKS_SUBSCRIBE = 12
    TICKS_UNSUBSCRIBE = 13
    DEAL_OPENED = 22
    DEAL_OPEN = 23
    DEAL_CLOSED = 26
    OPEN_DEALS = 31
    BALANCES = 55
    AMOUNT_LIMITS = 75
    PING = 90
    SUBSCRIBE = 98
    PAYOUTS = 182
    PAYOUT_UPDATE = 183
    TICKS_SUBSCRIBE_ALT = 280
    TICKS_UNSUBSCRIBE_ALT = 281
    CANDLES_REPLY = 1003


class MessageType(IntEnum):
    """The ``t`` field."""

    PUSH = 1
    REQUEST = 2
    REPLY = 3


@dataclass(frozen=True, slots=True)
class Message:
    """One message object of a frame."""

    e: int
    t: int | None
    d: Any
    uuid: str | None = None
    ts: float | None = None
    err: str | None = None

    @property
    def is_push(self) -> bool:
        """True for server pushes (``t`` 1 or absent)."""
        return self.t is None or self.t == MessageType.PUSH


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def parse_item(item: Any) -> tuple[Message | None, str | None]:
    """One message object → ``(message, None)`` or ``(None, problem)``."""
    if not isinstance(item, dict):
        return None, f"item is {type(item).__name__}, not an object"
    code = _int(item.get("e"))
    if code is None:
        return None, f"item without an integer 'e': {str(item)[:120]}"
    kind = item.get("t")
    t = _int(kind) if kind is not None else None
    if kind is not None and t is None:
        return None, f"e:{code} with a non-integer 't'"
    raw_uuid = item.get("uuid")
    uuid = None
    if isinstance(raw_uuid, str) and raw_uuid:
        uuid = raw_uuid
    elif _int(raw_uuid) is not None:
        uuid = str(raw_uuid)
    err_value = item.get("err")
    err = None if err_value is None or err_value is False else str(err_value)[:200]
    return Message(
        e=code, t=t, d=item.get("d"), uuid=uuid, ts=_finite(item.get("ts")), err=err
    ), None


def parse_frame(raw: str | bytes) -> tuple[list[Message], list[str]]:
    """Decode one WebSocket frame into messages plus a list of problems (never raises)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        decoded = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return [], [f"not JSON: {type(error).__name__}"]
    items = decoded if isinstance(decoded, list) else [decoded]
    messages: list[Message] = []
    problems: list[str] = []
    for item in items:
        message, problem = parse_item(item)
        if message is not None:
            messages.append(message)
        elif problem is not None:
            problems.append(problem)
    return messages, problems


def encode(messages: list[dict[str, Any]]) -> str:
    """One frame of message objects, compact JSON."""
    return json.dumps(messages, separators=(",", ":"), allow_nan=False)


def request(event: int, data: Any, uuid: str | None = None) -> dict[str, Any]:
    """A client request object (``t:2``); ``uuid`` omitted for fire-and-forget."""
    message: dict[str, Any] = {"t": int(MessageType.REQUEST), "e": int(event)}
    if uuid is not None:
        message["uuid"] = uuid
    message["d"] = data
    return message


_BASE36 = string.digits + string.ascii_uppercase


def _base36(number: int) -> str:
    digits = []
    while True:
        number, rest = divmod(number, 36)
        digits.append(_BASE36[rest])
        if number == 0:
            return "".join(reversed(digits))


def new_uuid(rng: random.Random) -> str:
    """A correlation id shaped like the web app's: base-36 milliseconds + random (≈18 chars)."""
    suffix = "".join(rng.choice(_BASE36) for _ in range(10))
    return _base36(int(time.time() * 1000)) + suffix
