"""The server's own limits, on the real uvicorn over loopback: the connection cap and
its eviction of idle connections, the request-head deadline, body size and body time.

The hostile-scale versions (1,100 connections under a real descriptor limit, 100 MB
bodies) are in ``tests/security/test_hostile_clients.py``; these pin the rules.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from moonlight.core.runtime.clock import FastForwardClock
from moonlight.server.connections import connection_cap
from moonlight.server.settings import ServerSettings
from tests.server.support import START, load, running_engine, serving, token_of, write_config

READ_S = 20.0


@pytest.fixture
async def limited(tmp_path: Path, host):
    config = load(write_config(tmp_path), host)
    settings = ServerSettings(
        max_connections=8, header_timeout_s=1.0, body_timeout_s=1.0, max_body_bytes=2048
    )
    async with (
        running_engine(config, host, FastForwardClock(START)) as engine,
        serving(engine, settings) as handle,
    ):
        engine.supervisor.pause(list(engine.supervisor.workers))  # a quiet engine
        yield handle, token_of(config)


async def connect(handle) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", handle.port)


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection (bounded wait)."""
    return await asyncio.wait_for(reader.read(), READ_S)


def test_the_cap_stays_below_the_descriptor_limit() -> None:
    assert connection_cap(256, fd_reserve=256, backlog=64, limit=1024) == 256
    assert connection_cap(256, fd_reserve=256, backlog=64, limit=512) == 192
    assert connection_cap(256, fd_reserve=256, backlog=64, limit=300) == 1
    assert connection_cap(256, fd_reserve=256, backlog=64, limit=None) == 256  # Windows


async def test_idle_connections_are_evicted_for_new_ones(limited) -> None:
    handle, _ = limited
    idle = [await connect(handle) for _ in range(8)]  # the whole cap, saying nothing
    async with httpx.AsyncClient(base_url=handle.base_url, trust_env=False) as client:
        for _ in range(3):
            assert (await client.get("/health")).status_code == 200
    # the oldest idle ones made room (closed without an answer), the newest are kept
    assert await closed_by_server(idle[0][0]) == b""
    assert handle.budget.evicted >= 1
    for _, writer in idle:
        writer.close()


async def test_a_silent_connection_is_closed_at_the_head_deadline(limited) -> None:
    handle, _ = limited
    reader, writer = await connect(handle)
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes the head
    await writer.drain()
    assert await closed_by_server(reader) == b""
    assert handle.budget.timed_out >= 1
    writer.close()


async def test_busy_connections_are_not_evicted_and_a_newcomer_gets_503(limited) -> None:
    handle, token = limited
    busy = []
    for _ in range(8):  # each in the middle of a request: head sent, body trickling
        reader, writer = await connect(handle)
        writer.write(
            b"PUT /api/v1/overrides HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        await writer.drain()
        busy.append((reader, writer))
    await asyncio.sleep(0.2)
    reader, writer = await connect(handle)
    refused = await closed_by_server(reader)
    assert refused.startswith(b"HTTP/1.1 503") and b"too many open connections" in refused
    writer.close()
    # the slow bodies run out of time: 408, nothing of them echoed
    answer = await closed_by_server(busy[0][0])
    assert answer.startswith(b"HTTP/1.1 408") and b"{" not in answer.split(b"\r\n\r\n")[0]
    for _, w in busy:
        w.close()


async def test_bodies_over_the_limit_are_413_before_routing(limited) -> None:
    handle, token = limited
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=handle.base_url, trust_env=False) as client:
        big = {"operator": "ann", "overrides": {"x": "y" * 4096}}
        response = await client.put("/api/v1/overrides", json=big, headers=headers)
        assert response.status_code == 413
        assert "yyyy" not in response.text
        fine = await client.put(
            "/api/v1/overrides", json={"operator": "ann", "overrides": {}}, headers=headers
        )
        assert fine.status_code == 200
