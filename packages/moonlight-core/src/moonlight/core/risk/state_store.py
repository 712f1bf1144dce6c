"""Where guards keep the state that must survive a restart (trips, kill-switch, counters).

:class:`GuardStateStore` is the small interface guards use; values are JSON-ready dicts
(timestamps as ISO-8601 strings, see :func:`dump_time` / :func:`load_time`).
:class:`MemoryGuardStateStore` keeps them in a dict (tests, backtests); the storage-backed
implementation is :class:`moonlight.core.risk.sql_state_store.SqlGuardStateStore`.

Guards read their whole state once, when they are built, and write on every state
change (never on the decision hot path). A write that fails raises to the caller: the
engine treats it like any storage fault (stop opening orders, alarm), and the guard's
in-memory state stays as restrictive as the change it tried to record.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class GuardStateStore(Protocol):
    """Key/value persistence for guard state (the ``engine_state`` table in production)."""

    def load_prefix(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Every stored value whose key starts with ``prefix``, by key."""
        ...

    def save(self, key: str, value: Mapping[str, Any], *, updated_by: str) -> None:
        """Insert or replace ``key``; ``updated_by`` names who caused the change."""
        ...


@dataclass(frozen=True, slots=True)
class StoredValue:
    """One value in :class:`MemoryGuardStateStore`, with who wrote it."""

    value: dict[str, Any]
    updated_by: str


class MemoryGuardStateStore:
    """A :class:`GuardStateStore` in a dict. Values are JSON round-tripped on save, so a
    guard that stores something the database could not store fails here too."""

    def __init__(self) -> None:
        self.values: dict[str, StoredValue] = {}

    def load_prefix(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Deep copies, so a guard mutating what it loaded cannot change the store."""
        return {
            key: copy.deepcopy(stored.value)
            for key, stored in self.values.items()
            if key.startswith(prefix)
        }

    def save(self, key: str, value: Mapping[str, Any], *, updated_by: str) -> None:
        """Store a JSON round-trip copy of ``value``."""
        self.values[key] = StoredValue(json.loads(json.dumps(dict(value))), updated_by)


def dump_time(moment: datetime | None) -> str | None:
    """An aware datetime as ISO-8601 text for a JSON value (None stays None)."""
    return None if moment is None else moment.isoformat()


def load_time(text: object) -> datetime | None:
    """The inverse of :func:`dump_time`; anything that is not an aware ISO-8601 time
    gives None (callers decide how a damaged record fails closed)."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
