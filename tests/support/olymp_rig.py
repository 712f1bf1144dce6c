"""The Olymp connector aimed at the strict fake broker, with test-sized timings.

The base options are the Olymp tests' own (:func:`tests.connectors.olymp.support.olymp_config`
reads only the fake's URLs); the strict broker's runs use shorter order timeouts and
pings, and 3-second contracts.
"""

from __future__ import annotations

from typing import Any

from moonlight.connectors.olymp import OlympConfig, OlympConnector
from tests.connectors.olymp.support import olymp_config
from tests.support.olymp_fake import StrictOlympBroker

STRICT_TIMINGS: dict[str, Any] = {
    "durations_s": [1, 2, 3, 60],
    "connect_timeout_s": 15.0,
    "ready_timeout_s": 8.0,
    "request_timeout_s": 3.0,
    "order_timeout_s": 1.5,
    "ping_interval_s": 2.0,
    "deal_interval_s": 0.02,
    "reconnect_cap_s": 0.4,
    "stable_after_s": 1.0,
    "resolve_interval_s": 0.3,
    "close_grace_s": 0.2,
}


def strict_config(broker: StrictOlympBroker, **overrides: Any) -> OlympConfig:
    """Connector options for ``broker`` (loopback URLs, short timeouts)."""
    return olymp_config(broker, **{**STRICT_TIMINGS, **overrides})  # type: ignore[arg-type]


def strict_connector(broker: StrictOlympBroker, **overrides: Any) -> OlympConnector:
    """A (not yet connected) connector for ``broker``."""
    return OlympConnector(
        strict_config(broker, **overrides), access_token="access-1", refresh_token=None
    )
