"""Overrides stored through the API are the top precedence layer at the next start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from moonlight.core.cli.app import cli
from moonlight.core.cli.loading import load_or_exit
from moonlight.core.config import ConfigError, load_config
from moonlight.core.config.runtime_overrides import (
    AUDIT_ACTION,
    RUNTIME_OVERRIDES_KEY,
    OverrideStore,
    stored_overrides,
)
from moonlight.core.storage.engine import session_factory
from moonlight.core.storage.migrate import prepare_storage
from moonlight.core.storage.models import AuditLog
from moonlight.core.storage.repository import set_engine_state


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\nrisk: {{threshold: 0.6}}\nserver: {{port: 9100}}\n",
        encoding="utf-8",
    )
    return path


def test_no_database_means_no_overrides_and_none_is_created(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    assert stored_overrides(config) is None
    assert not (tmp_path / "data" / "moonlight.db").exists()


def test_stored_overrides_win_over_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path)
    config = load_config(path)
    engine = prepare_storage(config)
    with Session(engine) as session, session.begin():
        set_engine_state(
            session, RUNTIME_OVERRIDES_KEY, {"overrides": {"risk": {"threshold": 0.7}}},
            updated_by="operator",
        )  # fmt: skip
    engine.dispose()
    monkeypatch.setenv("MOONLIGHT_RISK__THRESHOLD", "0.65")
    loaded, _ = load_or_exit(path)
    assert loaded.risk.threshold == 0.7
    assert loaded.server.port == 9100  # untouched keys keep the file's value


def store_overrides(path: Path, tree: dict) -> None:
    """What the API stores (as if an older server had let an invalid tree through)."""
    engine = prepare_storage(load_config(path))
    with Session(engine) as session, session.begin():
        set_engine_state(session, RUNTIME_OVERRIDES_KEY, {"overrides": tree}, updated_by="mallory")
    engine.dispose()


def test_a_start_failing_on_stored_overrides_names_them_and_the_clear_command(
    tmp_path: Path,
) -> None:
    """Finding 14.3: the start blamed config.yaml, and only the running API could clear."""
    path = write_config(tmp_path)
    store_overrides(path, {"risk": {"threshold": None, "margin": 7}})
    runner = CliRunner()
    failed = runner.invoke(cli, ["config", "check", str(path)])
    assert failed.exit_code == 1
    assert "runtime overrides stored" in failed.output
    assert "risk.margin, risk.threshold (set by mallory" in failed.output
    assert "[runtime overrides]" in failed.output or "runtime overrides:" in failed.output
    assert f"moonlight overrides clear {path}" in failed.output

    shown = runner.invoke(cli, ["overrides", "show", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == {"risk": {"margin": 7, "threshold": None}}

    cleared = runner.invoke(cli, ["overrides", "clear", str(path), "--operator", "ann"])
    assert cleared.exit_code == 0, cleared.output
    assert "cleared runtime overrides: risk.margin, risk.threshold" in cleared.output
    assert runner.invoke(cli, ["config", "check", str(path)]).exit_code == 0
    assert (
        "no runtime overrides stored" in runner.invoke(cli, ["overrides", "show", str(path)]).output
    )
    engine = prepare_storage(load_config(path))
    with Session(engine) as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.action == AUDIT_ACTION)).all()
    engine.dispose()
    assert [(a.actor, a.detail["overrides"]) for a in audit] == [("ann", {})]


def test_overrides_commands_work_without_a_database_and_create_none(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    runner = CliRunner()
    assert (
        "no runtime overrides stored" in runner.invoke(cli, ["overrides", "show", str(path)]).output
    )
    cleared = runner.invoke(cli, ["overrides", "clear", str(path), "--operator", "ann"])
    assert cleared.exit_code == 0 and "nothing to clear" in cleared.output
    assert not (tmp_path / "data" / "moonlight.db").exists()


def test_the_store_refuses_non_finite_numbers_and_stores_nothing(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    config = load_config(path)
    engine = prepare_storage(config)
    try:
        store = OverrideStore(session_factory(engine), config, None)
        with pytest.raises(ConfigError) as refused:
            store.replace({"risk": {"threshold": float("nan")}}, operator="ann")
        assert [i.path for i in refused.value.issues] == ["risk.threshold"]
        assert store.current().overrides == {}
        stored = store.replace({"risk": {"threshold": 0.66}}, operator="ann")
        assert stored.overrides == {"risk": {"threshold": 0.66}} and stored.updated_by == "ann"
    finally:
        engine.dispose()
