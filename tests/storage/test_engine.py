"""The engine factory: SQLite pragmas, directories, URL normalisation, config wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from moonlight.core.config import load_config
from moonlight.core.storage.engine import (
    create_storage_engine,
    engine_from_config,
    normalise_url,
    sqlite_database_path,
)


def _pragma(engine: Engine, name: str) -> object:
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    engine = create_storage_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=4321)
    try:
        assert _pragma(engine, "journal_mode") == "wal"
        assert _pragma(engine, "foreign_keys") == 1
        assert _pragma(engine, "synchronous") == 1  # NORMAL
        assert _pragma(engine, "busy_timeout") == 4321
        # A second, simultaneous connection is configured the same way.
        with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321
    finally:
        engine.dispose()


def test_missing_directories_are_created(tmp_path: Path) -> None:
    db_file = tmp_path / "a" / "b" / "moonlight.db"
    data_dir = tmp_path / "data-dir"
    engine = create_storage_engine(f"sqlite:///{db_file.as_posix()}", data_dir=data_dir)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.commit()
        assert db_file.is_file()
        assert data_dir.is_dir()
    finally:
        engine.dispose()


def test_engine_from_config_uses_data_dir_and_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOONLIGHT_STORAGE__URL", raising=False)
    config_file = tmp_path / "config.yaml"
    data_dir = tmp_path / "fresh" / "data"
    config_file.write_text(
        f"data_dir: {data_dir.as_posix()}\nstorage:\n  busy_timeout_ms: 2500\n", encoding="utf-8"
    )
    engine = engine_from_config(load_config(config_file))
    try:
        assert _pragma(engine, "busy_timeout") == 2500
        assert (data_dir / "moonlight.db").is_file()
    finally:
        engine.dispose()


def test_storage_url_from_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere" / "env.db"
    monkeypatch.setenv("MOONLIGHT_STORAGE__URL", f"sqlite:///{target.as_posix()}")
    monkeypatch.setenv("MOONLIGHT_DATA_DIR", (tmp_path / "d").as_posix())
    engine = engine_from_config(load_config(None))
    try:
        _pragma(engine, "journal_mode")
        assert target.is_file()
        assert not (tmp_path / "d" / "moonlight.db").exists()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_url_normalisation_picks_psycopg(url: str, driver: str) -> None:
    assert normalise_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/m.db", Path("data/m.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:data/m.db?mode=ro&uri=true", None),
        ("postgresql+psycopg://u@h/db", None),
    ],
)
def test_sqlite_database_path(url: str, expected: Path | None) -> None:
    assert sqlite_database_path(normalise_url(url)) == expected
