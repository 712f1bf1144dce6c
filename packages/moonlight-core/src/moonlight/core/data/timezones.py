"""Local file times to UTC, with the timezone always named by the caller.

Candle files disagree about time: MoonLight's own CSVs and exchange exports write UTC
(``...Z``), HistData writes Eastern Standard Time without daylight saving, MetaTrader
writes the broker's server time. Loaders never guess: a time with an explicit offset is
converted with it; a naive time is read in the timezone the caller names (IANA name such
as ``"Europe/Athens"``, ``"Etc/GMT+5"`` for a fixed UTC-5, or ``"UTC"``).

Conversion of naive times uses :mod:`zoneinfo` once per distinct local hour (offsets
change on the hour or half hour in every zone in use), so a million bars cost a few
thousand lookups. A local time that occurs twice (the hour repeated when clocks go back)
is read as its first occurrence (``fold=0``); the repeated hour then shows up in the
validation report as time going backwards or duplicates -- reported, not hidden.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from moonlight.core.data.errors import DataError

IntArray = npt.NDArray[np.int64]
_UTC_NAMES = frozenset({"utc", "z", "etc/utc", "gmt", "etc/gmt"})


def zone(name: str) -> ZoneInfo | None:
    """The ZoneInfo for ``name``; None for UTC itself; DataError for an unknown name."""
    if name.strip().lower() in _UTC_NAMES:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise DataError(f"unknown timezone {name!r} (use an IANA name such as 'UTC')") from None


def local_to_utc(local_s: IntArray, timezone: str) -> IntArray:
    """Naive local epoch-like seconds (as if the local clock were UTC) → UTC seconds."""
    info = zone(timezone)
    if info is None or local_s.size == 0:
        return local_s
    hours = np.floor_divide(local_s, 3600)
    unique, inverse = np.unique(hours, return_inverse=True)
    offsets = np.empty(unique.size, dtype=np.int64)
    epoch = datetime(1970, 1, 1)
    for i, hour in enumerate(unique.tolist()):
        try:
            moment = (epoch + timedelta(hours=hour)).replace(tzinfo=info)
            offset = moment.utcoffset()
        except (OverflowError, ValueError):
            raise DataError(f"time out of range in timezone {timezone!r}") from None
        offsets[i] = 0 if offset is None else int(offset.total_seconds())
    return local_s - offsets[inverse]


def utc_offset_s(text: str) -> int:
    """Seconds east of UTC of an ISO suffix ``Z``, ``+HH:MM``, ``+HHMM`` or ``+HH``."""
    if text in ("Z", "z"):
        return 0
    sign = 1 if text[0] == "+" else -1 if text[0] == "-" else 0
    digits = text[1:].replace(":", "")
    if sign == 0 or not digits.isdigit() or len(digits) not in (2, 4):
        raise DataError(f"bad UTC offset {text!r}")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise DataError(f"bad UTC offset {text!r}")
    return sign * (hours * 3600 + minutes * 60)
