"""One plugin host for the backtest tests (loading every plugin takes seconds)."""

from __future__ import annotations

import pytest

from moonlight.core.backtest.plugin import with_replay
from moonlight.core.plugins.host import PluginHost


@pytest.fixture(scope="session")
def host() -> PluginHost:
    return with_replay()
