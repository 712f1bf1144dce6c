"""Helpers of the Olymp tests: a connector configuration aimed at the fake server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from moonlight.connectors.olymp import OlympConfig, OlympConnector
from tests.connectors.olymp.fake_server import FakeOlympServer


def olymp_config(server: FakeOlympServer, **overrides: Any) -> OlympConfig:
    """The connector's configuration for ``server``, with test-sized timings."""
    values: dict[str, Any] = {
        "ws_url": server.ws_url,
        "api_url": server.http_url,
        "renew_url": server.http_url + "/api/token/renew/web/v1",
        "allowed_hosts": ["127.0.0.1"],
        "durations_s": [1, 2, 5, 60],
        "connect_timeout_s": 10.0,
        "ready_timeout_s": 5.0,
        "request_timeout_s": 2.0,
        "order_timeout_s": 2.0,
        "ping_interval_s": 5.0,
        "deal_interval_s": 0.05,
        "subscribe_interval_s": 0.0,
        "reconnect_base_s": 0.05,
        "reconnect_cap_s": 0.5,
        "stable_after_s": 2.0,
        "resolve_interval_s": 0.5,
        "close_grace_s": 0.3,
        "match_window_s": 30.0,
    }
    values.update(overrides)
    return OlympConfig(**values)


def olymp_connector(
    server: FakeOlympServer,
    *,
    access_token: str = "access-1",
    refresh_token: str | None = "refresh-1",
    **overrides: Any,
) -> OlympConnector:
    """A (not yet connected) connector for ``server``."""
    return OlympConnector(
        olymp_config(server, **overrides), access_token=access_token, refresh_token=refresh_token
    )


async def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait (bounded) until ``predicate()`` holds; fail the test otherwise."""
    for _ in range(int(timeout_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout_s:g} s")
