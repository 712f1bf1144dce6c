"""Authentication, throttling, Host and Origin checks, sessions, and no secret in answers.

The app runs in process (httpx ASGI transport) around a real engine on a simulated
clock; every request claims to come from 127.0.0.1 unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.control import EngineControl
from moonlight.server.app import create_app
from moonlight.server.auth import SESSION_COOKIE
from moonlight.server.settings import ServerSettings
from tests.server.support import START, api_client, load, running_engine, token_of, write_config

AUTHENTICATED_GETS = [
    "/api/v1/status",
    "/api/v1/workers",
    "/api/v1/orders",
    "/api/v1/orders/export.csv",
    "/api/v1/results",
    "/api/v1/results/export.csv",
    "/api/v1/alarms",
    "/api/v1/metrics/summary",
    "/api/v1/calibration",
    "/api/v1/config",
    "/api/v1/overrides",
    "/api/v1/kill-switch",
    "/api/v1/session",
    "/api/v1/openapi.json",
    "/metrics",
]
STATE_CHANGES = [
    ("POST", "/api/v1/kill-switch/engage", {"operator": "ann", "reason": "test"}),
    ("POST", "/api/v1/kill-switch/re-arm", {"operator": "ann"}),
    ("POST", "/api/v1/workers/pause", {"operator": "ann", "all": True}),
    ("POST", "/api/v1/workers/resume", {"operator": "ann", "all": True}),
    ("PUT", "/api/v1/overrides", {"operator": "ann", "overrides": {}}),
    ("POST", "/api/v1/trading/resume", {"operator": "ann"}),
    ("DELETE", "/api/v1/session", None),
]


@pytest.fixture
async def served(tmp_path: Path, host):
    """(app, engine, token) with 5 tolerated failures and a short lockout."""
    config = load(write_config(tmp_path), host)
    clock = FastForwardClock(START)
    async with running_engine(config, host, clock) as engine:
        await clock.sleep_until(clock.now() + 120)
        settings = ServerSettings(auth_failures_max=5, auth_lockout_s=0.5, auth_window_s=60)
        app = create_app(EngineControl(engine), settings=settings)
        yield app, engine, token_of(config)


async def test_every_api_route_is_listed_here(served) -> None:
    """A new route must be added to the lists above (and so be tested for auth)."""
    app, _, _ = served
    listed = set(AUTHENTICATED_GETS) | {path for _, path, _ in STATE_CHANGES}
    documented = {path for path in app.openapi()["paths"] if "{" not in path}
    assert documented - listed == {"/health", "/api/v1/session"} - listed
    assert {"/api/v1/openapi.json", "/metrics"} <= listed


async def test_no_token_is_401_everywhere(served) -> None:
    app, engine, _ = served
    async with api_client(app) as client:
        for path in AUTHENTICATED_GETS:
            response = await client.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
        for method, path, body in STATE_CHANGES:
            response = await client.request(method, path, json=body)
            assert response.status_code == 401, path
    assert engine.risk.kill_switch.engagement(None) is None


async def test_the_token_opens_every_route(served) -> None:
    app, _, token = served
    async with api_client(app, token) as client:
        for path in AUTHENTICATED_GETS:
            assert (await client.get(path)).status_code == 200, path
        for method, path, body in STATE_CHANGES:
            assert (await client.request(method, path, json=body)).status_code == 200, path


async def test_wrong_tokens_are_throttled_but_never_lock_out_the_right_one(served) -> None:
    """Finding 14.10: on loopback the operator shares 127.0.0.1 with whatever guesses."""
    app, engine, token = served
    async with (
        api_client(app, "wrong-" + token) as wrong,
        api_client(app, token) as right,
        api_client(app) as anonymous,
    ):
        statuses = [(await wrong.get("/api/v1/status")).status_code for _ in range(4)]
        assert statuses == [401] * 4
        locking = await wrong.get("/api/v1/status")  # the 5th failure locks the client out
        assert locking.status_code == 429
        assert int(locking.headers["retry-after"]) >= 1
        assert (await wrong.get("/api/v1/status")).status_code == 429
        assert (await anonymous.get("/api/v1/status")).status_code == 429
        # locked out, yet the operator's correct token still works — the kill switch too
        assert (await right.get("/api/v1/status")).status_code == 200
        engage = await right.post(
            "/api/v1/kill-switch/engage", json={"operator": "ann", "reason": "x"}
        )
        assert engage.status_code == 200
        assert engine.risk.kill_switch.engagement(None) is not None
        # a correct login code too
        code = app.state.moonlight.auth.issue_login_code()
        assert (await anonymous.post("/api/v1/session", json={"code": code})).status_code == 200
        # failures during the lockout are not counted: it ends on time
        await asyncio.sleep(0.6)  # the lockout (0.5 s) ends
        assert (await wrong.get("/api/v1/status")).status_code == 401


async def test_malformed_authorization_counts_as_a_failure(served) -> None:
    app, _, token = served
    async with api_client(app) as client:
        for header in (f"Basic {token}", token, "Bearer", f"Bearer  {token}x"):
            response = await client.get("/api/v1/status", headers={"Authorization": header})
            assert response.status_code in (401, 429)
        assert app.state.moonlight.auth.throttle.retry_after_s("127.0.0.1") == 0  # 4 < 5


async def test_foreign_origin_on_a_state_change_is_403(served) -> None:
    app, engine, token = served
    async with api_client(app, token) as client:
        for origin in ("http://evil.example", "null", "http://127.0.0.1.evil.example:8765",
                       "file://", "http://localhost:9999"):  # fmt: skip
            app.state.moonlight.bound_port = 8765
            response = await client.post(
                "/api/v1/kill-switch/engage",
                json={"operator": "mallory", "reason": "csrf"},
                headers={"Origin": origin},
            )
            assert response.status_code == 403, origin
        assert engine.risk.kill_switch.engagement(None) is None
        cross_site = await client.post(
            "/api/v1/workers/pause",
            json={"operator": "mallory", "all": True},
            headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
        )
        assert cross_site.status_code == 403
        assert not any(w.paused for w in engine.supervisor.workers.values())
        # the server's own origin is accepted
        own = await client.post(
            "/api/v1/kill-switch/engage",
            json={"operator": "ann", "reason": "own origin"},
            headers={"Origin": "http://127.0.0.1:8765"},
        )
        assert own.status_code == 200
        assert engine.risk.kill_switch.engagement(None) is not None


@pytest.mark.parametrize(
    "host_header",
    ["evil.example", "evil.example:8765", "127.0.0.1.nip.io:8765", "attacker.localhost.com",
     "", "localhost:notaport"],
)  # fmt: skip
async def test_host_not_localhost_is_403(served, host_header: str) -> None:
    app, _, token = served
    async with api_client(app, token) as client:
        for path in ("/api/v1/status", "/health", "/", "/static/app.js", "/metrics"):
            response = await client.get(path, headers={"Host": host_header})
            assert response.status_code == 403, (host_header, path)


@pytest.mark.parametrize("host_header", ["localhost:8765", "127.0.0.1", "[::1]:8765"])
async def test_loopback_host_names_are_accepted(served, host_header: str) -> None:
    app, _, token = served
    async with api_client(app, token) as client:
        response = await client.get("/api/v1/status", headers={"Host": host_header})
        assert response.status_code == 200


async def test_one_time_login_code_gives_an_httponly_strict_session(served) -> None:
    app, engine, _ = served
    auth = app.state.moonlight.auth
    code = auth.issue_login_code()
    async with api_client(app) as browser:
        response = await browser.post("/api/v1/session", json={"code": code})
        assert response.status_code == 200
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert code not in cookie
        assert (await browser.get("/api/v1/status")).status_code == 200
        # a cookie-authenticated change needs the browser's Origin header
        body = {"operator": "ann", "reason": "dashboard"}
        bare = await browser.post("/api/v1/kill-switch/engage", json=body)
        assert bare.status_code == 403
        with_origin = await browser.post(
            "/api/v1/kill-switch/engage", json=body, headers={"Origin": "http://127.0.0.1:8765"}
        )
        assert with_origin.status_code == 200
        assert engine.risk.kill_switch.engagement(None) is not None
        # logging out ends the session
        out = await browser.delete("/api/v1/session", headers={"Origin": "http://127.0.0.1:8765"})
        assert out.status_code == 200
        browser.cookies.clear()
    async with api_client(app) as replay:
        # the code was single-use
        assert (await replay.post("/api/v1/session", json={"code": code})).status_code == 401


async def test_login_with_the_token_and_wrong_codes_are_throttled(served) -> None:
    app, _, token = served
    async with api_client(app) as browser:
        assert (await browser.post("/api/v1/session", json={"token": token})).status_code == 200
    async with api_client(app, client=("127.0.0.9", 1)) as guesser:
        codes = [
            (await guesser.post("/api/v1/session", json={"code": f"guess{i}"})).status_code
            for i in range(6)
        ]
        assert codes[:4] == [401] * 4 and codes[4:] == [429, 429]


async def test_unparseable_login_bodies_count_as_failed_attempts(served) -> None:
    app, _, _ = served
    async with api_client(app, client=("127.0.0.8", 1)) as guesser:
        codes = [
            (await guesser.post("/api/v1/session", content=body)).status_code
            for body in (b"{", b"\xff\xfe", b"[]", b'{"code": 1}', b'{"bogus": "x"}', b"{")
        ]
    assert codes[:4] == [401] * 4 and codes[4:] == [429, 429]


async def test_stale_session_cookie_is_refused(served) -> None:
    app, _, _ = served
    async with api_client(app, cookies={SESSION_COOKIE: "not-a-session"}) as browser:
        assert (await browser.get("/api/v1/status")).status_code == 401


async def test_no_secret_in_any_response(served) -> None:
    app, engine, token = served
    auth = app.state.moonlight.auth
    code = auth.issue_login_code()
    session_id = auth.open_session()
    async with api_client(app, token) as client:
        await client.put(
            "/api/v1/overrides",
            json={"operator": "ann", "overrides": {"risk": {"threshold": 0.6}}},
        )
        bodies = []
        for path in AUTHENTICATED_GETS:
            response = await client.get(path)
            bodies.append(response.text)
            bodies.append(json.dumps(dict(response.headers)))
        login = await client.post("/api/v1/session", json={"token": token})
        bodies.append(login.text)
    everything = "\n".join(bodies)
    for secret in (token, code, session_id):
        assert secret not in everything
    assert str(engine.config.data_dir) in everything  # the scan did see real content


async def test_security_headers_on_pages_and_api(served) -> None:
    app, _, token = served
    async with api_client(app, token) as client:
        for path in ("/", "/login", "/api/v1/status"):
            headers = (await client.get(path)).headers
            assert headers["x-frame-options"] == "DENY"
            assert headers["x-content-type-options"] == "nosniff"
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert "script-src 'self'" in headers["content-security-policy"]
