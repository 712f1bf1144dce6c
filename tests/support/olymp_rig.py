"""The Olymp connector aimed at the strict fake broker, with test-sized timings."""

from __future__ import annotations

from typing import Any

from moonlight.connectors.olymp import OlympConfig, OlympConnector
from tests.support.olymp_fake import StrictOlympBroker


def strict_config(broker: StrictOlympBroker, **overrides: Any) -> OlympConfig:
    """Connector options for ``broker`` (loopback URLs, short timeouts)."""
    values: dict[str, Any] = {
        "ws_url": broker.ws_url,
        "api_url": broker.http_url,
        "renew_url": broker.http_url + "/api/token/renew/web/v1",
        "allowed_hosts": ["127.0.0.1"],
        "durations_s": [1, 2, 3, 60],
        "connect_timeout_s": 15.0,
        "ready_timeout_s": 8.0,
        "request_timeout_s": 3.0,
        "order_timeout_s": 1.5,
        "ping_interval_s": 2.0,
        "deal_interval_s": 0.02,
        "subscribe_interval_s": 0.0,
        "reconnect_base_s": 0.05,
        "reconnect_cap_s": 0.4,
        "stable_after_s": 1.0,
        "resolve_interval_s": 0.3,
        "close_grace_s": 0.2,
        "match_window_s": 30.0,
    }
    values.update(overrides)
    return OlympConfig(**values)


def strict_connector(broker: StrictOlympBroker, **overrides: Any) -> OlympConnector:
    """A (not yet connected) connector for ``broker``."""
    return OlympConnector(
        strict_config(broker, **overrides), access_token="access-1", refresh_token=None
    )
