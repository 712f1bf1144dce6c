"""Every test here attacks the running system: marked ``chaos`` (run in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moonlight.core.plugins import PluginHost, build_plugin_host

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.chaos)


@pytest.fixture(scope="session")
def host() -> PluginHost:
    """The installed plugins (building the host is pure, so it is built once)."""
    return build_plugin_host()
