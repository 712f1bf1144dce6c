"""Fixtures shared by the server tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.support import server_host


@pytest.fixture(scope="session")
def host():
    """The plugin host with the server plugin (built once: building is pure)."""
    return server_host()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
