"""Fixtures: a running fake Olymp server and a connector connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

pytest.importorskip(
    "moonlight.connectors.olymp", reason="moonlight-connector-olymp is not installed"
)

from moonlight.connectors.olymp import OlympConnector
from tests.connectors.olymp.fake_server import FakeOlympServer
from tests.connectors.olymp.support import olymp_connector


@pytest.fixture
async def server() -> AsyncIterator[FakeOlympServer]:
    async with FakeOlympServer() as fake:
        yield fake


@pytest.fixture
async def olymp(server: FakeOlympServer) -> AsyncIterator[OlympConnector]:
    connector = olymp_connector(server)
    await connector.connect()
    try:
        yield connector
    finally:
        await connector.close()
