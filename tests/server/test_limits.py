"""The server's own limits, on the real uvicorn over loopback: the connection cap and
its eviction of idle connections, the request-head deadline, body size and body time.

The hostile-scale versions (1,100 connections under a real descriptor limit, 100 MB
bodies) are in ``tests/security/test_hostile_clients.py``; these pin the rules.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from moonlight.core.runtime.clock import FastForwardClock
from moonlight.server.connections import connection_cap
from moonlight.server.settings import ServerSettings
from tests.server.support import START, load, running_engine, serving, token_of, write_config

READ_S = 20.0
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@contextlib.asynccontextmanager
async def limited(tmp_path: Path, host, **limits: float) -> AsyncIterator[tuple[Any, str]]:
    """A quiet engine behind the real server with a cap of 8 connections and ``limits``
    (generous defaults, so only the limit under test can fire on a loaded machine)."""
    config = load(write_config(tmp_path), host)
    settings = ServerSettings(
        max_connections=8,
        max_body_bytes=2048,
        header_timeout_s=limits.get("header_timeout_s", 120.0),
        body_timeout_s=limits.get("body_timeout_s", 120.0),
    )
    async with (
        running_engine(config, host, FastForwardClock(START)) as engine,
        serving(engine, settings) as handle,
    ):
        engine.supervisor.pause(list(engine.supervisor.workers))
        yield handle, token_of(config)


@contextlib.asynccontextmanager
async def connections(handle: Any, count: int) -> AsyncIterator[list[Connection]]:
    """``count`` open connections, all closed at the end whatever happens."""
    opened: list[Connection] = []
    try:
        for _ in range(count):
            opened.append(await asyncio.open_connection("127.0.0.1", handle.port))
        yield opened
    finally:
        for _, writer in opened:
            writer.close()


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection (bounded wait)."""
    return await asyncio.wait_for(reader.read(), READ_S)


def test_the_cap_stays_below_the_descriptor_limit() -> None:
    assert connection_cap(256, fd_reserve=256, backlog=64, limit=1024) == 256
    assert connection_cap(256, fd_reserve=256, backlog=64, limit=512) == 192
    assert connection_cap(256, fd_reserve=256, backlog=64, limit=300) == 1
    assert connection_cap(256, fd_reserve=256, backlog=64, limit=None) == 256  # Windows


async def test_idle_connections_are_evicted_for_new_ones(tmp_path: Path, host) -> None:
    async with limited(tmp_path, host) as (handle, _), connections(handle, 8) as idle:
        # the whole cap is taken by connections that say nothing
        async with httpx.AsyncClient(base_url=handle.base_url, trust_env=False) as client:
            for _ in range(3):
                assert (await client.get("/health")).status_code == 200
        # the oldest idle ones made room (closed without an answer), the newest are kept
        assert await closed_by_server(idle[0][0]) == b""
        assert handle.budget.evicted >= 1 and handle.budget.timed_out == 0


async def test_a_silent_connection_is_closed_at_the_head_deadline(tmp_path: Path, host) -> None:
    async with (
        limited(tmp_path, host, header_timeout_s=1.0) as (handle, _),
        connections(handle, 1) as ((reader, writer),),
    ):
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes
        await writer.drain()
        assert await closed_by_server(reader) == b""
        assert handle.budget.timed_out == 1


SLOW_PUT = (
    b"PUT /api/v1/overrides HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
)


async def test_busy_connections_are_not_evicted_and_a_newcomer_gets_503(
    tmp_path: Path, host
) -> None:
    async with limited(tmp_path, host) as (handle, token), connections(handle, 8) as busy:
        for _, writer in busy:  # each in the middle of a request: head sent, body pending
            writer.write(SLOW_PUT % token.encode())
            await writer.drain()
        for _ in range(1000):  # until the server has read all eight heads
            if not any(p.idle(t) for t, p in list(handle.budget.open.items())):
                break
            await asyncio.sleep(0.01)
        async with connections(handle, 1) as ((reader, _),):
            refused = await closed_by_server(reader)
        assert refused.startswith(b"HTTP/1.1 503") and b"too many open connections" in refused
        assert handle.budget.refused == 1 and handle.budget.evicted == 0


async def test_a_body_that_does_not_arrive_in_time_is_408(tmp_path: Path, host) -> None:
    async with (
        limited(tmp_path, host, body_timeout_s=1.0) as (handle, token),
        connections(handle, 1) as ((reader, writer),),
    ):
        writer.write(SLOW_PUT % token.encode())
        await writer.drain()
        answer = await closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"{" not in answer.split(b"\r\n\r\n")[0]  # nothing of the body echoed


async def test_bodies_over_the_limit_are_413_before_routing(tmp_path: Path, host) -> None:
    async with (
        limited(tmp_path, host) as (handle, token),
        httpx.AsyncClient(base_url=handle.base_url, trust_env=False) as client,
    ):
        headers = {"Authorization": f"Bearer {token}"}
        big = {"operator": "ann", "overrides": {"x": "y" * 4096}}
        response = await client.put("/api/v1/overrides", json=big, headers=headers)
        assert response.status_code == 413
        assert "yyyy" not in response.text
        fine = await client.put(
            "/api/v1/overrides", json={"operator": "ann", "overrides": {}}, headers=headers
        )
        assert fine.status_code == 200
