"""The console session against the real server on a socket: it reconnects by itself,
says when its data is stale, and ends when the server refuses its credentials."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from moonlight.console.api import ApiClient
from moonlight.console.session import ConsoleSession
from moonlight.core.runtime.clock import ScaledClock
from moonlight.core.runtime.control import EngineControl
from moonlight.server.app import create_app
from moonlight.server.service import ServerHandle
from moonlight.server.settings import ServerSettings
from tests.console.support import free_port
from tests.server.support import START, load, running_engine, wait_for, write_config

TOKEN = "console-session-test-token-0123456789abcdef"
WAIT_S = 45.0


def stale(session: ConsoleSession) -> bool:
    return session.state.rest.stale(time.monotonic())


async def serve_on(engine, port: int) -> ServerHandle:
    handle = ServerHandle(
        create_app(EngineControl(engine), token=TOKEN),
        host="127.0.0.1",
        port=port,
        settings=ServerSettings(),
    )
    await handle.start()
    return handle


async def until(predicate: Callable[[], bool]) -> None:
    await wait_for(predicate, WAIT_S)


async def test_reconnects_by_itself_and_says_when_data_is_stale(tmp_path: Path, host) -> None:
    port = free_port()
    config = load(write_config(tmp_path, drop_guards=("consecutive_losses",)), host)
    client = ApiClient(f"http://127.0.0.1:{port}", timeout_s=5.0)
    client.set_token(TOKEN)
    changes: list[set[str]] = []
    session = ConsoleSession(client, on_change=changes.append)
    stop = asyncio.Event()
    task = asyncio.ensure_future(session.run(stop))
    try:
        # nothing listens yet: stale, and the live feed keeps trying
        await until(
            lambda: session.state.live == "reconnecting" and bool(session.state.rest.last_error)
        )
        assert stale(session) and session.state.status is None
        async with running_engine(config, host, ScaledClock(START, 30)) as engine:
            handle = await serve_on(engine, port)
            try:
                await until(lambda: session.state.live == "connected" and not stale(session))
                await until(lambda: bool(session.state.orders) and bool(session.state.workers))
                assert session.state.status is not None
                assert session.state.status.accounts[0].id == "paper-1"
            finally:
                await handle.stop()
            # the server went away: the live feed notices, then the data goes stale
            await until(lambda: session.state.live == "reconnecting")
            await until(lambda: stale(session))
            assert session.state.status is not None  # the last data is kept
            handle = await serve_on(engine, port)
            try:
                await until(lambda: session.state.live == "connected" and not stale(session))
            finally:
                await handle.stop()
        assert not session.signed_out
        assert any("health" in areas for areas in changes)
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)
        await client.aclose()


async def test_a_refused_token_ends_the_session(tmp_path: Path, host) -> None:
    port = free_port()
    config = load(write_config(tmp_path), host)
    async with running_engine(config, host, ScaledClock(START, 1)) as engine:
        handle = await serve_on(engine, port)
        client = ApiClient(f"http://127.0.0.1:{port}")
        client.set_token("a-wrong-token-of-the-right-shape-0123456789")
        changes: list[set[str]] = []
        session = ConsoleSession(client, on_change=changes.append)
        try:
            await asyncio.wait_for(session.run(asyncio.Event()), WAIT_S)
        finally:
            await handle.stop()
            await client.aclose()
    assert session.signed_out
    assert any("session" in areas for areas in changes)
    assert "invalid credentials" in (session.state.rest.last_error or "")
