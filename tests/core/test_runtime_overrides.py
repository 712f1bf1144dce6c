"""Overrides stored through the API are the top precedence layer at the next start."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from moonlight.core.cli.loading import load_or_exit
from moonlight.core.config import load_config
from moonlight.core.config.runtime_overrides import RUNTIME_OVERRIDES_KEY, stored_overrides
from moonlight.core.storage.migrate import prepare_storage
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
