"""Timeframes: the bar lengths a worker can trade, written as ``<count><unit>``.

Units are ``s`` (seconds), ``m`` (minutes), ``h`` (hours) and ``d`` (days); ``1m`` is
one minute. Fixed-time brokers offer short timeframes, so seconds are first-class.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^([1-9][0-9]*)([smhd])$")


def timeframe_seconds(text: str) -> int:
    """Seconds in a timeframe such as ``"5s"`` or ``"15m"``; ValueError when malformed."""
    match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"timeframe {text!r} is not <count><unit> with unit s, m, h or d (e.g. 30s, 1m, 1h)"
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _normalise(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"timeframe must be a string such as '1m', got {value!r}")
    timeframe_seconds(value)
    return value.strip()


#: A validated timeframe string for configuration models.
Timeframe = Annotated[str, BeforeValidator(_normalise), PlainSerializer(str)]
