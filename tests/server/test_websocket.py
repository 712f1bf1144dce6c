"""The live WebSocket on the real uvicorn (127.0.0.1, free port) beside a trading engine.

The engine trades paper on a fast-forward simulated clock on the same event loop as the
server, so orders are decided, sent and settled while the test waits for them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from moonlight.core.runtime.clock import FastForwardClock
from moonlight.server.settings import ServerSettings
from tests.server.support import START, load, running_engine, serving, token_of, write_config

RECV_TIMEOUT_S = 20.0
#: Simulated seconds after which every order opened before a pause has settled (the
#: longest expiry in the test config is one minute).
SETTLED_AFTER_S = 180.0


def ws_url(handle: Any) -> str:
    return f"ws://127.0.0.1:{handle.port}/api/v1/ws"


def dial(handle: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("proxy", None)
    kwargs.setdefault("open_timeout", 10)
    return connect(ws_url(handle), **kwargs)


async def receive(ws: ClientConnection, timeout_s: float = RECV_TIMEOUT_S) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def close_code(ws: ClientConnection) -> int | None:
    """Wait (bounded) for the server to close; its close code."""
    with pytest.raises(ConnectionClosed):
        for _ in range(1000):
            await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S)
    return ws.close_code


@pytest.fixture
async def live(tmp_path: Path, host):
    config = load(write_config(tmp_path, drop_guards=("consecutive_losses",)), host)
    clock = FastForwardClock(START)
    settings = ServerSettings(
        ws_auth_timeout_s=0.5, auth_failures_max=3, auth_lockout_s=30, ws_snapshot_s=0.2
    )
    async with running_engine(config, host, clock) as engine, serving(engine, settings) as handle:
        yield handle, engine, token_of(config)


async def test_first_message_auth_then_live_order_events(live) -> None:
    handle, _, token = live
    async with dial(handle) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        hello = await receive(ws)
        assert hello["type"] == "hello"
        assert hello["data"]["queue_size"] == 256
        seen: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 60
        while not {"decision", "order_state", "result"} <= set(seen):
            assert time.monotonic() < deadline, f"only saw {sorted(seen)}"
            message = await receive(ws)
            seen.setdefault(message["type"], message["data"])
    decision, result = seen["decision"], seen["result"]
    assert decision["from_state"] == "IDLE" and decision["to_state"] == "PREPARE"
    assert result["outcome"] in ("win", "lose", "push") and isinstance(result["pnl"], float)
    assert seen["order_state"]["client_req_id"].startswith("paper-1:")
    async with httpx.AsyncClient(
        base_url=handle.base_url, headers={"Authorization": f"Bearer {token}"}, trust_env=False
    ) as client:
        stored = await client.get(f"/api/v1/orders/{result['client_req_id']}")
        assert stored.status_code == 200
        assert stored.json()["outcome"] == result["outcome"]


async def test_metric_snapshots_are_pushed(live) -> None:
    handle, engine, token = live
    async with dial(handle, subprotocols=["moonlight.v1", f"moonlight.bearer.{token}"]) as ws:
        hello = await receive(ws)
        assert set(hello["data"]["metrics"]["accounts"]) == {"paper-1"}
        deadline = time.monotonic() + 30
        while (message := await receive(ws))["type"] != "metrics":
            assert time.monotonic() < deadline
    snapshot = message["data"]
    account = snapshot["accounts"]["paper-1"]
    assert set(account) == {"balance", "pnl_day", "orders", "trading_state"}
    assert set(account["orders"]) == {"win", "lose", "push", "abort"}
    assert sum(snapshot["workers"].values()) == len(engine.supervisor.workers) == 8
    assert snapshot["decisions"] >= 0


async def test_bearer_subprotocol(live) -> None:
    handle, _, token = live
    async with dial(handle, subprotocols=["moonlight.v1", f"moonlight.bearer.{token}"]) as ws:
        assert ws.subprotocol == "moonlight.v1"
        assert (await receive(ws))["type"] == "hello"


async def test_dashboard_session_cookie(live) -> None:
    handle, _, _ = live
    code = handle.context.auth.issue_login_code()
    async with httpx.AsyncClient(base_url=handle.base_url, trust_env=False) as browser:
        login = await browser.post("/api/v1/session", json={"code": code})
        assert login.status_code == 200
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    async with dial(handle, origin=handle.base_url, additional_headers={"Cookie": cookie}) as ws:
        assert (await receive(ws))["type"] == "hello"


async def test_wrong_or_missing_credentials_close_4401_then_4429(live) -> None:
    handle, _, token = live
    async with dial(handle) as ws:  # says nothing: auth timeout (not counted as a guess)
        assert await close_code(ws) == 4401
    assert handle.context.auth.throttle.retry_after_s("127.0.0.1") == 0
    async with dial(handle) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token + "x"}))
        assert await close_code(ws) == 4401
    async with dial(handle, subprotocols=["moonlight.v1", "moonlight.bearer.nope"]) as ws:
        assert await close_code(ws) == 4401
    async with dial(handle) as ws:  # third failure: locked out
        await ws.send("not json")
        assert await close_code(ws) == 4429
    async with dial(handle) as ws:  # even the right token is refused now
        assert await close_code(ws) == 4429


async def test_the_right_token_is_accepted_from_a_locked_out_address(live) -> None:
    """Finding 14.10: someone else's guesses never lock the operator out."""
    handle, _, token = live
    for _ in range(3):
        async with dial(handle) as ws:
            await ws.send(json.dumps({"type": "auth", "token": "wrong"}))
            await close_code(ws)
    assert handle.context.auth.throttle.retry_after_s("127.0.0.1") > 0
    async with dial(handle) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert (await receive(ws))["type"] == "hello"
    async with dial(handle, subprotocols=["moonlight.v1", f"moonlight.bearer.{token}"]) as ws:
        assert (await receive(ws))["type"] == "hello"


async def test_a_binary_first_frame_is_refused_cleanly_and_counted(
    live, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 14.10: close code 1003, counted by the throttle, no ERROR, no traceback."""
    handle, _, token = live
    async with dial(handle) as ws:
        await ws.send(b"\x00\x01binary")
        assert await close_code(ws) == 1003
    assert len(handle.context.auth.throttle._clients["127.0.0.1"].failures) == 1
    async with dial(handle, subprotocols=["moonlight.v1", f"moonlight.bearer.{token}"]) as ws:
        assert (await receive(ws))["type"] == "hello"
        await ws.send(b"binary after auth")
        assert await close_code(ws) == 1003
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]


async def test_token_in_the_query_string_is_ignored(live) -> None:
    handle, _, token = live
    async with connect(f"{ws_url(handle)}?token={token}", proxy=None) as ws:
        assert await close_code(ws) == 4401


async def handshake_status(port: int, host: str, origin: str | None, token: str) -> int:
    """Send a WebSocket upgrade by hand (any Host header) and return the HTTP status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [
        "GET /api/v1/ws HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        f"Sec-WebSocket-Protocol: moonlight.v1, moonlight.bearer.{token}",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), RECV_TIMEOUT_S)
    writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize(
    ("host_header", "origin"),
    [
        ("evil.example", None),
        ("evil.example:{port}", None),
        ("127.0.0.1:{port}", "http://evil.example"),
        ("127.0.0.1:{port}", "null"),
        ("127.0.0.1:{port}", "http://127.0.0.1:1"),
    ],
)
async def test_foreign_host_or_origin_handshake_is_refused(live, host_header, origin) -> None:
    handle, _, token = live
    port = handle.port
    own = await handshake_status(port, f"127.0.0.1:{port}", handle.base_url, token)
    assert own == 101  # the same handshake from the server's own origin is accepted
    refused = await handshake_status(port, host_header.format(port=port), origin, token)
    assert refused == 403


async def _caught_up(received: list[int], count: int) -> None:
    while len(received) < count:
        await asyncio.sleep(0.001)


async def test_slow_client_is_dropped_and_nobody_waits_for_it(tmp_path: Path, host) -> None:
    config = load(write_config(tmp_path, drop_guards=("consecutive_losses",)), host)
    clock = FastForwardClock(START)
    settings = ServerSettings(ws_queue_size=8)
    async with running_engine(config, host, clock) as engine, serving(engine, settings) as handle:
        token = token_of(config)
        protocols = ["moonlight.v1", f"moonlight.bearer.{token}"]
        slow_socket = socket.create_connection(("127.0.0.1", handle.port))
        slow_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        async with (
            dial(handle, subprotocols=protocols, compression=None, max_size=None) as fast,
            dial(
                handle, subprotocols=protocols, compression=None, max_queue=1,
                sock=slow_socket, max_size=None,
            ) as slow,
        ):  # fmt: skip
            assert (await receive(fast))["type"] == "hello"
            assert (await receive(slow))["type"] == "hello"
            hub = handle.context.hub
            # the engine's own events would crowd the 8-message queues on a fast-forward
            # clock (it runs flat out while the test waits): only the flood is measured
            engine.supervisor.pause(list(engine.supervisor.workers))
            bars_before = sum(w.bars_seen for w in engine.supervisor.workers.values())
            # Flood with incompressible 32 KiB messages from the engine's side at the pace
            # of the fast client; the slow client (4 KiB receive window) never reads.
            received: list[int] = []

            async def read_fast() -> None:
                while len(received) < 400:
                    message = await receive(fast)
                    if message["type"] == "flood":
                        received.append(message["data"]["n"])

            reader = asyncio.ensure_future(read_fast())
            # orders opened before the pause settle first (their results are written and
            # published together, one group commit per instant): a burst the fast client
            # reads now, so that during the flood its queue holds the flood only
            await clock.sleep_until(clock.now() + SETTLED_AFTER_S)
            publish_s: list[float] = []
            for n in range(400):
                # a healthy client: never more than 4 messages behind
                await asyncio.wait_for(_caught_up(received, n - 4), RECV_TIMEOUT_S)
                payload = base64.b64encode(os.urandom(24 * 1024)).decode()
                started = time.perf_counter()
                hub.publish("flood", {"n": n, "payload": payload})
                publish_s.append(time.perf_counter() - started)
            await asyncio.wait_for(reader, 60)
            assert received == list(range(400))  # the fast client got everything, in order
            assert hub.dropped_clients == 1
            assert len(hub.subscribers) == 1
            # publish never waits for a socket: it is synchronous (a wait would hang here)
            # and costs serialising one message (median; the machine is shared, so single
            # calls can be descheduled for a time slice)
            assert sorted(publish_s)[len(publish_s) // 2] < 0.001
            # the engine carries on (the slow socket holds nothing of it)
            await clock.sleep_until(clock.now() + 60)
            assert sum(w.bars_seen for w in engine.supervisor.workers.values()) > bars_before
            with pytest.raises(ConnectionClosed):
                for _ in range(10_000):
                    await asyncio.wait_for(slow.recv(), RECV_TIMEOUT_S)
            assert slow.close_code in (4008, 1006)
