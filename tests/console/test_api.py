"""The console's API client against the real server app (in process, no socket).

Nothing here is a fake: the engine trades paper on a fast-forward clock and the
client's every call goes through the server's own routes, authentication and
validation. The two routes the console added to the server (``/calibration`` and
``/orders?open_first``) are checked against an oracle computed here from the raw
order listing.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from moonlight.console.api import ApiClient, ApiError
from moonlight.console.models import OPEN_STATES, Order
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.control import EngineControl
from moonlight.server.app import create_app
from tests.server.support import CLIENT, START, load, running_engine, token_of, write_config

BASE = "http://127.0.0.1:8765"


@pytest.fixture
async def served(tmp_path: Path, host):
    """(app, engine, token) after 15 simulated minutes of paper trading.

    Then every worker is paused and open orders settle, so storage holds still while
    a test compares two listings (simulated time keeps running).
    """
    config = load(write_config(tmp_path, drop_guards=("consecutive_losses",)), host)
    clock = FastForwardClock(START)
    async with running_engine(config, host, clock) as engine:
        await clock.sleep_until(clock.now() + 900)
        engine.supervisor.pause(list(engine.supervisor.workers))
        await clock.sleep_until(clock.now() + 180)
        yield create_app(EngineControl(engine)), engine, token_of(config)


def client_for(app: object) -> ApiClient:
    return ApiClient(BASE, transport=httpx.ASGITransport(app=app, client=CLIENT))  # type: ignore[arg-type]


@pytest.fixture
async def client(served):
    """A client signed in with the API token."""
    app, _engine, token = served
    signed_in = client_for(app)
    await signed_in.use_token(token)
    yield signed_in
    await signed_in.aclose()


async def test_token_sign_in_and_reads(served) -> None:
    app, _engine, token = served
    client = client_for(app)
    try:
        with pytest.raises(ApiError) as refused:
            await client.use_token("not-the-token-at-all")
        assert refused.value.unauthenticated
        await client.use_token(token)
        status = await client.status()
        assert status.accounts[0].id == "paper-1" and status.engine.simulated_clock
        assert len(await client.workers()) == 8
        results = await client.results(limit=50)
        assert results and all(r.settled_at for r in results)
        assert client.ws_handshake() == (["moonlight.v1", f"moonlight.bearer.{token}"], {})
        assert client.ws_url == "ws://127.0.0.1:8765/api/v1/ws"
    finally:
        await client.aclose()


async def test_open_orders_first(client: ApiClient) -> None:
    orders = await client.orders(limit=500)
    flags = [o.state in OPEN_STATES for o in orders]
    assert flags == sorted(flags, reverse=True)
    plain = await client._list(Order, "/orders", limit=500)
    assert {o.client_req_id for o in plain} == {o.client_req_id for o in orders}
    for order in orders:
        assert order.direction in ("up", "down") and order.stake and order.duration_s


async def test_calibration_agrees_with_an_oracle_from_the_orders(client: ApiClient) -> None:
    calibration = await client.calibration(bins=10)
    orders = await client._list(Order, "/orders", limit=10_000, state="SETTLED")
    grouped: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for order in orders:
        if order.p_hat is not None and order.outcome in ("win", "lose"):
            grouped[order.instrument].append((order.p_hat, int(order.outcome == "win")))
    assert calibration.overall is not None
    assert calibration.overall.samples == sum(len(v) for v in grouped.values())
    assert {r.instrument for r in calibration.instruments} == set(grouped)
    for row in calibration.instruments:
        pairs = grouped[row.instrument]
        bins: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for p, won in pairs:
            bins[min(int(p * 10), 9)].append((p, won))
        ece = sum(
            len(b) / len(pairs) * abs(sum(p for p, _ in b) / len(b) - sum(w for _, w in b) / len(b))
            for b in bins.values()
        )
        assert row.samples == len(pairs)
        assert row.ece == pytest.approx(ece, abs=1e-12)
        assert sum(b.count for b in row.bins) == len(pairs)


async def test_changes_are_audited_and_refusals_explained(served, client: ApiClient) -> None:
    engine = served[1]
    label = next(iter(engine.supervisor.workers))
    assert (await client.resume([label], operator="ann")).changed == [label]
    assert not engine.supervisor.workers[label].paused
    assert (await client.pause([label], operator="ann")).changed == [label]
    assert engine.supervisor.workers[label].paused
    state = await client.engage_kill_switch(operator="ann", reason="drill")
    assert state.engaged and state.global_engagement.by == "ann"
    assert not (await client.re_arm_kill_switch(operator="ann")).engaged
    with pytest.raises(ApiError) as refused:
        await client.set_overrides({"risk": {"threshold": 7}, "server": {}}, operator="ann")
    paths = {p.path for p in refused.value.problems}
    assert refused.value.status == 422
    assert {"overrides.risk.threshold", "overrides.server"} <= paths
    stored = await client.set_overrides({"risk": {"threshold": 0.6}}, operator="ann")
    assert stored.overrides == {"risk": {"threshold": 0.6}} and stored.updated_by == "ann"
    assert (await client.overrides()).overrides == stored.overrides
    assert "risk" in await client.config()


async def test_a_login_code_works_once_and_gives_a_session(served) -> None:
    app, _engine, _token = served
    code = app.state.moonlight.auth.issue_login_code()
    client, again = client_for(app), client_for(app)
    try:
        await client.redeem_code(code)
        subprotocols, headers = client.ws_handshake()
        assert subprotocols == ["moonlight.v1"] and headers["Origin"] == BASE
        assert headers["Cookie"].startswith("moonlight_session=")
        # cookie-authenticated changes carry the server's own Origin
        assert (await client.engage_kill_switch(operator="bo", reason="cookie")).engaged
        with pytest.raises(ApiError) as refused:
            await again.redeem_code(code)
        assert refused.value.unauthenticated
    finally:
        await client.aclose()
        await again.aclose()


async def test_an_unreachable_server_is_status_zero() -> None:
    client = ApiClient("http://127.0.0.1:9", timeout_s=2.0)
    try:
        with pytest.raises(ApiError) as failed:
            await client.status()
        assert failed.value.unreachable and "cannot reach" in failed.value.message
    finally:
        await client.aclose()
