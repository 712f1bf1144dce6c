"""Deriv's wire format: one JSON object per WebSocket frame.

Requests name the call by their key (``{"proposal": 1, ...}``) and may carry an integer
``req_id`` and a ``passthrough`` object, both echoed back. Every reply carries
``msg_type`` and ``echo_req`` and either the result under the ``msg_type`` key or
``error: {code, message}``; stream messages carry ``subscription: {id}`` (and, from the
server, the subscribing request's ``req_id``).

:func:`parse_frame` turns one frame into a :class:`Message` or raises
:class:`ProtocolError` -- never anything else, whatever the bytes (it is fuzzed). The
coercion helpers accept numbers that the new API sends as strings ("several numeric
fields may come back as string or number").
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Largest frame accepted (the socket's own limit is the same order of magnitude).
MAX_FRAME_CHARS = 8_000_000


class ProtocolError(ValueError):
    """A frame or a field does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class Message:
    """One parsed frame from the server."""

    msg_type: str
    body: Mapping[str, Any]
    req_id: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    subscription_id: str | None = None
    passthrough: Mapping[str, Any] | None = None

    @property
    def is_error(self) -> bool:
        """True when the server answered with ``error``."""
        return self.error_code is not None

    def result(self, key: str | None = None) -> Any:
        """The result under ``key`` (default: ``msg_type``), ``None`` when absent."""
        return self.body.get(key or self.msg_type)

    def result_object(self, key: str | None = None) -> Mapping[str, Any]:
        """The result as an object; :class:`ProtocolError` when it is not one."""
        value = self.result(key)
        if not isinstance(value, Mapping):
            raise ProtocolError(f"{key or self.msg_type}: expected an object, got {value!r:.80}")
        return value


def parse_frame(raw: str | bytes) -> Message:
    """Parse one frame; raises :class:`ProtocolError` for anything malformed."""
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as error:
            raise ProtocolError(f"frame is not UTF-8: {error}") from error
    if not isinstance(raw, str):
        raise ProtocolError(f"frame of type {type(raw).__name__}")
    if len(raw) > MAX_FRAME_CHARS:
        raise ProtocolError(f"frame of {len(raw)} characters exceeds {MAX_FRAME_CHARS}")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"frame is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise ProtocolError(f"frame is a JSON {type(data).__name__}, not an object")
    error_code, error_message = _error(data.get("error"))
    msg_type = data.get("msg_type")
    if msg_type is None and error_code is not None:
        msg_type = "error"
    if not isinstance(msg_type, str) or not msg_type:
        raise ProtocolError(f"frame without a msg_type: {raw[:120]!r}")
    req_id = data.get("req_id")
    if req_id is not None:
        req_id = integer(req_id, "req_id")
    subscription = data.get("subscription")
    subscription_id: str | None = None
    if subscription is not None:
        if not isinstance(subscription, dict) or not isinstance(subscription.get("id"), str):
            raise ProtocolError(f"subscription without an id: {subscription!r:.80}")
        subscription_id = subscription["id"]
    echo = data.get("echo_req")
    passthrough = None
    if isinstance(echo, dict) and isinstance(echo.get("passthrough"), dict):
        passthrough = echo["passthrough"]
    return Message(
        msg_type=msg_type,
        body=data,
        req_id=req_id,
        error_code=error_code,
        error_message=error_message,
        subscription_id=subscription_id,
        passthrough=passthrough,
    )


def _error(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise ProtocolError(f"error is not an object: {value!r:.80}")
    code = value.get("code")
    if not isinstance(code, str) or not code:
        raise ProtocolError(f"error without a code: {value!r:.80}")
    message = value.get("message")
    return code, message if isinstance(message, str) else code


def encode(request: Mapping[str, Any]) -> str:
    """One request as the JSON text of a frame."""
    return json.dumps(request, separators=(",", ":"), allow_nan=False)


# ------------------------------------------------------------------------- coercion


def number(value: Any, name: str) -> float:
    """A finite float from a JSON number or a numeric string."""
    if isinstance(value, bool):
        raise ProtocolError(f"{name}: boolean where a number was expected")
    if isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError as error:
            raise ProtocolError(f"{name}: {value!r:.40} is out of range") from error
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError as error:
            raise ProtocolError(f"{name}: {value!r:.40} is not a number") from error
    else:
        raise ProtocolError(f"{name}: {type(value).__name__} where a number was expected")
    if not math.isfinite(result):
        raise ProtocolError(f"{name}: {value!r:.40} is not finite")
    return result


def optional_number(value: Any, name: str) -> float | None:
    """:func:`number`, with ``None`` (and the empty string) passed through as ``None``."""
    if value is None or value == "":
        return None
    return number(value, name)


def integer(value: Any, name: str) -> int:
    """An int from a JSON integer, an integral float, or a string of digits."""
    if isinstance(value, bool):
        raise ProtocolError(f"{name}: boolean where an integer was expected")
    if isinstance(value, int):
        if abs(value) > 2**63:
            raise ProtocolError(f"{name}: {value!r:.40} is out of range")
        return value
    as_float = number(value, name)
    if not as_float.is_integer() or abs(as_float) > 2**63:
        raise ProtocolError(f"{name}: {value!r:.40} is not an integer")
    return int(as_float)


def text(value: Any, name: str) -> str:
    """A non-empty string (numbers are accepted and turned into text, e.g. ids)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ProtocolError(f"{name}: expected text, got {value!r:.40}")


def flag(value: Any) -> bool:
    """A 0/1 (or boolean, or "0"/"1") flag; anything else is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip() == "1"


def objects(value: Any, name: str) -> list[Mapping[str, Any]]:
    """A list of objects; :class:`ProtocolError` when it is not one."""
    if not isinstance(value, list):
        raise ProtocolError(f"{name}: expected a list, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ProtocolError(f"{name}[{index}]: expected an object")
    return value
