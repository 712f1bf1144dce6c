"""Every update step, recorded three ways: the console, ``update-journal.jsonl`` in the
install root, and the database's audit log (plus an alarm for what an operator must
know: a deferral, a failure, a rollback, a completed update).

A rollback that restores the database from its backup also removes the audit rows
written after the backup; the journal therefore keeps this attempt's entries and writes
them again into the restored database (:meth:`Journal.rewrite`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from moonlight.core.events import AlarmLevel
from moonlight.core.storage.engine import create_storage_engine, session_factory
from moonlight.core.storage.repository import record_alarm, record_audit
from moonlight.core.update.layout import InstallRoot

ACTOR = "moonlight update"
log = logging.getLogger("moonlight.update")


class Journal:
    """Records the steps of one ``moonlight update`` command."""

    def __init__(self, url: str, root: InstallRoot | None, echo: Callable[[str], None]) -> None:
        self._url = url
        self._root = root
        self._echo = echo
        self._entries: list[dict[str, Any]] = []
        self._mark = 0

    def step(
        self, action: str, message: str, *, alarm: AlarmLevel | None = None, **detail: Any
    ) -> None:
        """Record one step; ``alarm`` also raises an alarm of that level."""
        entry = {
            "ts": time.time(),
            "action": f"update.{action}",
            "message": message,
            "alarm": alarm.value if alarm else None,
            "detail": detail,
        }
        self._entries.append(entry)
        self._echo(f"[{action}] {message}")
        if self._root is not None:
            self._root.root.mkdir(parents=True, exist_ok=True)
            with self._root.journal_file.open("a", encoding="utf-8") as sink:
                sink.write(json.dumps(entry) + "\n")
        self._store([entry])

    def mark(self) -> None:
        """Note that the database is being copied now: later entries are not in the copy."""
        self._mark = len(self._entries)

    def rewrite(self) -> None:
        """Write the entries the copy lacks again (into a database just restored from it)."""
        self._store(self._entries[self._mark :])

    def _store(self, entries: list[dict[str, Any]]) -> None:
        engine = create_storage_engine(self._url)
        try:
            with session_factory(engine).begin() as session:
                for entry in entries:
                    detail = {"message": entry["message"], **entry["detail"]}
                    record_audit(session, actor=ACTOR, action=entry["action"], detail=detail)
                    if entry["alarm"]:
                        record_alarm(
                            session,
                            level=AlarmLevel(entry["alarm"]),
                            code=entry["action"].replace(".", "_"),
                            message=entry["message"],
                        )
        except SQLAlchemyError as error:  # the journal file still has it
            log.warning("update step not audited in the database: %s", error)
            self._echo(f"  (not audited in the database: {type(error).__name__})")
        finally:
            engine.dispose()
