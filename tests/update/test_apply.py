"""``moonlight update apply`` end to end, against wheels built from this workspace.

Each test installs 0.1.0 under its own install root, starts it through a fake service
manager (tests/update/fake_service.py: SIGTERM to stop, like systemd), then runs the
installed ``moonlight update apply`` as an operator would, with a local wheel directory
as the package source.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from moonlight.core.orders import Direction, OrderState
from moonlight.core.storage import migrate, repository
from moonlight.core.storage.engine import create_storage_engine, session_factory
from tests.support.storage_rows import insert_order, record_transition
from tests.update.conftest import Installation

#: The schema the installed (old) version is at: this workspace's head.
HEAD = migrate.head_revision()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.subprocess,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(sys.platform == "win32", reason="the fake service manager is POSIX"),
]

Make = Callable[..., Installation]
Result = subprocess.CompletedProcess[str]


def _rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def _actions(installation: Installation) -> list[str]:
    audited = _rows(
        installation.database,
        "select action from audit_log where actor = 'moonlight update' order by id",
    )
    return [str(row[0]) for row in audited]


def _alarms(installation: Installation) -> set[str]:
    return {str(r[0]) for r in _rows(installation.database, "select code from alarms")}


def _journal(installation: Installation) -> list[dict[str, object]]:
    lines = installation.root.journal_file.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _versions(installation: Installation) -> dict[str, str]:
    done = installation.moonlight("version")
    assert done.returncode == 0, done.stderr
    return dict(line.split() for line in done.stdout.splitlines())


@contextmanager
def _session(installation: Installation) -> Iterator[Session]:
    engine = create_storage_engine(f"sqlite:///{installation.database}")
    try:
        with session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def _sentinel(installation: Installation) -> None:
    """A row written by 0.1.0 before the update: must survive every outcome."""
    with _session(installation) as session:
        repository.set_engine_state(session, "update-test-sentinel", "kept", updated_by="test")


def _has_sentinel(installation: Installation) -> bool:
    with _session(installation) as session:
        return repository.get_engine_state(session, "update-test-sentinel") == "kept"


def _apply(installation: Installation) -> tuple[str | None, Result]:
    """Write a sentinel row with 0.1.0, then run its ``moonlight update apply``."""
    _sentinel(installation)
    before = installation.root.active_label()
    return before, installation.moonlight("update", "apply", str(installation.config))


def test_no_open_order_updates_and_keeps_the_previous(make_installation: Make) -> None:
    installation = make_installation("good")
    check = installation.moonlight("update", "check", str(installation.config))
    assert check.returncode == 0, check.stderr
    assert "moonlight-core 0.1.0 -> 0.2.0" in check.stdout
    assert "moonlight-server 0.1.0 -> 0.2.0" in check.stdout

    before, done = _apply(installation)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "updated to 0.2.0-" in done.stdout
    assert installation.root.active_label() != before
    assert _versions(installation)["moonlight-core"] == "0.2.0"
    assert _versions(installation)["moonlight-server"] == "0.2.0"
    assert installation.root.version_dir(str(before)).is_dir()  # the previous one is kept
    assert httpx.get(f"http://127.0.0.1:{installation.port}/health").json() == {"status": "ok"}
    state = json.loads(installation.root.state_file.read_text(encoding="utf-8"))
    assert state["previous"] == before and state["backup"] is None  # no migration, no backup
    assert _has_sentinel(installation)
    actions = _actions(installation)
    for step in ("prepare", "validated", "pause", "stopped", "switched", "updated"):
        assert f"update.{step}" in actions, actions
    assert "update_updated" in _alarms(installation)

    # the operator changes their mind: back to 0.1.0, data kept
    done = installation.moonlight("update", "rollback", str(installation.config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert installation.root.active_label() == before
    assert _versions(installation)["moonlight-core"] == "0.1.0"
    assert httpx.get(f"http://127.0.0.1:{installation.port}/health").json() == {"status": "ok"}
    assert _has_sentinel(installation)
    assert _actions(installation)[-2:] == ["update.rollback", "update.rolled-back"]


def test_an_open_order_defers_the_update_with_its_reason(make_installation: Make) -> None:
    installation = make_installation("good", flat_timeout_s=2.0)
    with _session(installation) as session:  # an order the broker has confirmed, not settled
        order = insert_order(
            session, client_req_id="open-1", account_id="acct", instrument="EURUSD",
            timeframe="1m", direction=Direction.UP, stake=5.0, currency="USD",
            duration_s=60, payout_pct=85.0,
        )  # fmt: skip
        for state in (OrderState.PREPARE, OrderState.SEND, OrderState.CONFIRM):
            record_transition(session, order, state)
    before = installation.root.active_label()

    done = installation.moonlight("update", "apply", str(installation.config))

    assert done.returncode == 3, done.stdout + done.stderr
    assert "deferred: 1 order(s) still open after 2 s" in done.stdout
    assert installation.root.active_label() == before
    assert [p.name for p in installation.root.versions.iterdir()] == [before]
    assert _versions(installation)["moonlight-core"] == "0.1.0"
    assert httpx.get(f"http://127.0.0.1:{installation.port}/health").status_code == 200
    actions = _actions(installation)
    assert actions[-3:] == ["update.pause", "update.resume", "update.deferred"], actions
    assert "update_deferred" in _alarms(installation)
    assert "update.stopped" not in actions


def test_unhealthy_new_version_rolls_back_with_the_database_intact(
    make_installation: Make,
) -> None:
    installation = make_installation("broken")
    before, done = _apply(installation)

    assert done.returncode == 4, done.stdout + done.stderr
    assert "failed its health check" in done.stdout
    assert installation.root.active_label() == before
    assert _versions(installation)["moonlight-server"] == "0.1.0"
    assert httpx.get(f"http://127.0.0.1:{installation.port}/health").json() == {"status": "ok"}
    assert _has_sentinel(installation)
    assert _rows(installation.database, "select version_num from alembic_version") == [(HEAD,)]
    actions = _actions(installation)
    assert actions[-3:] == ["update.unhealthy", "update.rollback", "update.rolled-back"]
    assert {"update_unhealthy", "update_rolled-back"} <= _alarms(installation)


def test_a_migrating_update_backs_up_and_its_rollback_restores(make_installation: Make) -> None:
    installation = make_installation("migrating")
    before, done = _apply(installation)

    assert done.returncode == 4, done.stdout + done.stderr
    journal = {entry["action"]: entry for entry in _journal(installation)}
    assert "needed" in str(journal["update.validated"]["message"])
    backup = Path(str(journal["update.backup"]["detail"]["backup"]))  # type: ignore[index]
    assert backup.is_file()
    assert _rows(backup, "select version_num from alembic_version") == [(HEAD,)]
    assert "update.migrated" in journal  # the new version did migrate the real database
    assert "update.restored" in journal
    assert installation.root.active_label() == before
    assert _rows(installation.database, "select version_num from alembic_version") == [(HEAD,)]
    tables = {r[0] for r in _rows(installation.database, "select name from sqlite_master")}
    assert "update_probe" not in tables
    assert _has_sentinel(installation)
    # the restored database still has the whole story of the attempt
    actions = _actions(installation)
    for step in ("backup", "migrated", "switched", "unhealthy", "restored", "rolled-back"):
        assert f"update.{step}" in actions, actions
    assert httpx.get(f"http://127.0.0.1:{installation.port}/health").json() == {"status": "ok"}
