"""A plugin host that also knows the planted-edge test strategy."""

from __future__ import annotations

import pytest

from moonlight.core.backtest.plugin import with_replay
from moonlight.core.plugins.host import PluginHost
from tests.support.planted_edge import PlantedEdgePlugin


@pytest.fixture(scope="session")
def host() -> PluginHost:
    return with_replay(extra_plugins=[("planted-edge", PlantedEdgePlugin())])
