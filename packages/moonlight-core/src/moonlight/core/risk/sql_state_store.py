"""Guard state in the ``engine_state`` table, through the storage repository.

Each :meth:`SqlGuardStateStore.save` is its own short transaction (guards write only on
state changes, never on the decision hot path). A change made by someone other than the
engine itself — an operator engaging or re-arming a kill-switch — is also written to
``audit_log`` in the same transaction, so who did what is never lost or half-recorded.
Storage faults surface as
:class:`~moonlight.core.storage.errors.StorageUnavailable`.

Inside an order's bookkeeping (:meth:`GroupCommit.collecting`: the trader booking a
result the executor has staged) the engine's own changes are staged into that instant's
group commit instead, so the result and the guard state it produced are written in one
transaction, with one upsert per key however often the key changed in the instant (the
value is encoded once, at the commit). A crash before the commit loses both together;
reconciliation re-derives them from the broker. Trips for any other reason (connector
errors, an operator) are written through at once, as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Insert
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.events import utc_now
from moonlight.core.risk.guards.base import SYSTEM_ACTOR
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.group_commit import GroupCommit
from moonlight.core.storage.models import EngineState
from moonlight.core.storage.repository import (
    engine_states,
    record_audit,
    set_engine_state,
    upsert_rows,
)

AUDIT_ACTION = "guard_state.set"


class SqlGuardStateStore:
    """A :class:`~moonlight.core.risk.state_store.GuardStateStore` on ``engine_state``."""

    def __init__(
        self, sessions: sessionmaker[Session], *, group: GroupCommit | None = None
    ) -> None:
        self._sessions = sessions
        self._group = group

    def load_prefix(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Every stored value whose key starts with ``prefix`` (non-dict values skipped)."""
        with translate_storage_errors(), self._sessions() as session:
            stored = engine_states(session, prefix)
        return {key: value for key, value in stored.items() if isinstance(value, dict)}

    def save(self, key: str, value: Mapping[str, Any], *, updated_by: str) -> None:
        """Upsert ``key`` and, for a person's change, an audit entry; one transaction
        (or, for the engine's own change during an order's bookkeeping, the instant's
        group commit)."""
        document = dict(value)
        system = updated_by.lower().startswith(SYSTEM_ACTOR)
        if system and self._group is not None and self._group.is_collecting:
            row = {"key": key, "value": document, "updated_at": utc_now(), "updated_by": updated_by}
            self._group.stage(_UPSERTS, row, wait=False)
            return
        with translate_storage_errors(), self._sessions() as session, session.begin():
            set_engine_state(session, key, document, updated_by=updated_by)
            if not system:
                record_audit(
                    session,
                    actor=updated_by,
                    action=AUDIT_ACTION,
                    detail={"key": key, "value": document},
                )


class _GuardStateUpserts:
    """Staged guard-state changes: one executemany upsert, the last change of a key
    wins (a :class:`~moonlight.core.storage.group_commit.BatchWrite`)."""

    def __init__(self) -> None:
        self._statements: dict[str, Insert] = {}  # built once per dialect

    def write(self, connection: Connection, rows: Sequence[Any]) -> list[object]:
        latest = {row["key"]: row for row in rows}
        dialect = connection.dialect.name
        statement = self._statements.get(dialect)
        if statement is None:
            statement = self._statements[dialect] = upsert_rows(
                dialect,
                EngineState,
                conflict=("key",),
                columns=("value", "updated_at", "updated_by"),
            )
        connection.execute(statement, list(latest.values()))
        return [None] * len(rows)


_UPSERTS = _GuardStateUpserts()
