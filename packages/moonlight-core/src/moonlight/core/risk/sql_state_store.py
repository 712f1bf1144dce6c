"""Guard state in the ``engine_state`` table, through the storage repository.

Each :meth:`SqlGuardStateStore.save` is its own short transaction (guards write only on
state changes, never on the decision hot path). A change made by someone other than the
engine itself — an operator engaging or re-arming a kill-switch — is also written to
``audit_log`` in the same transaction, so who did what is never lost or half-recorded.
Storage faults surface as
:class:`~moonlight.core.storage.errors.StorageUnavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.risk.guards.base import SYSTEM_ACTOR
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.repository import engine_states, record_audit, set_engine_state

AUDIT_ACTION = "guard_state.set"


class SqlGuardStateStore:
    """A :class:`~moonlight.core.risk.state_store.GuardStateStore` on ``engine_state``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load_prefix(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Every stored value whose key starts with ``prefix`` (non-dict values skipped)."""
        with translate_storage_errors(), self._sessions() as session:
            stored = engine_states(session, prefix)
        return {key: value for key, value in stored.items() if isinstance(value, dict)}

    def save(self, key: str, value: Mapping[str, Any], *, updated_by: str) -> None:
        """Upsert ``key`` and, for a person's change, an audit entry; one transaction."""
        document = dict(value)
        with translate_storage_errors(), self._sessions() as session, session.begin():
            set_engine_state(session, key, document, updated_by=updated_by)
            if not updated_by.lower().startswith(SYSTEM_ACTOR):
                record_audit(
                    session,
                    actor=updated_by,
                    action=AUDIT_ACTION,
                    detail={"key": key, "value": document},
                )
