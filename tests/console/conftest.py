"""Fixtures of the console tests: the plugin host with the server (built once)."""

from __future__ import annotations

import pytest

from tests.server.support import server_host


@pytest.fixture(scope="session")
def host():
    return server_host()
