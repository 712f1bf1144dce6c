"""``moonlight db`` commands through click's CliRunner, on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect
from sqlalchemy.engine import URL

from moonlight.core.cli.db_cmd import db_group
from moonlight.core.storage import migrate
from moonlight.core.storage.engine import create_storage_engine


@pytest.fixture
def runner(db_url: URL, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose MOONLIGHT_STORAGE__URL points at the test database."""
    monkeypatch.setenv("MOONLIGHT_STORAGE__URL", db_url.render_as_string(hide_password=False))
    return CliRunner()


def _revision(db_url: URL) -> str | None:
    engine = create_storage_engine(db_url)
    try:
        return migrate.current_revision(engine)
    finally:
        engine.dispose()


def test_upgrade_current_downgrade_cycle(runner: CliRunner, db_url: URL) -> None:
    head = migrate.head_revision()
    result = runner.invoke(db_group, ["current", "--check"])
    assert result.exit_code == 1, result.output
    assert "empty" in result.output and "behind" in result.output

    result = runner.invoke(db_group, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert f"empty -> {head}" in result.output
    assert _revision(db_url) == head

    result = runner.invoke(db_group, ["current", "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output

    result = runner.invoke(db_group, ["downgrade", "base"], input="n\n")
    assert result.exit_code == 1  # aborted at the prompt: nothing dropped
    assert _revision(db_url) == head

    result = runner.invoke(db_group, ["downgrade", "base", "--yes"])
    assert result.exit_code == 0, result.output
    assert _revision(db_url) is None

    result = runner.invoke(db_group, ["upgrade", "--revision", head])
    assert result.exit_code == 0, result.output
    assert _revision(db_url) == head


def test_unknown_revision_is_a_clean_error(runner: CliRunner) -> None:
    result = runner.invoke(db_group, ["upgrade", "--revision", "nosuchrev"])
    assert result.exit_code == 1
    assert "nosuchrev" in result.output
    assert "Traceback" not in result.output


def test_config_file_decides_the_sqlite_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOONLIGHT_STORAGE__URL", raising=False)
    data_dir = tmp_path / "new-data"
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"data_dir: {data_dir.as_posix()}\n", encoding="utf-8")
    result = CliRunner().invoke(db_group, ["upgrade", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    db_file = data_dir / "moonlight.db"
    engine = create_storage_engine(f"sqlite:///{db_file.as_posix()}")
    try:
        with engine.connect() as connection:
            assert "orders" in inspect(connection).get_table_names()
    finally:
        engine.dispose()


def test_invalid_config_reports_and_exits_non_zero(tmp_path: Path) -> None:
    config_file = tmp_path / "bad.yaml"
    config_file.write_text("storage:\n  busy_timeout_ms: 1\n  colour: blue\n", encoding="utf-8")
    result = CliRunner().invoke(db_group, ["current", "--config", str(config_file)])
    assert result.exit_code == 1
    assert "storage.busy_timeout_ms" in result.output
    assert "storage.colour" in result.output


def test_unreachable_database_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOONLIGHT_STORAGE__URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(db_group, ["current"])
    assert result.exit_code == 1
    assert "connection_lost" in result.output
