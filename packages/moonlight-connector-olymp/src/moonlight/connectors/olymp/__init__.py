"""MoonLight connector for Olymp Trade's web protocol (reverse-engineered, demo by default).

Olymp Trade publishes no trading API; this connector follows the community-documented
web-terminal protocol (see ``docs/connectors/olymp.md``). It is unverified for
real-money use and Olymp Trade's client agreement reportedly forbids automated trading:
real accounts are refused unless ``allow_real_account: true`` is configured.

The connector and its session (httpx, websockets) are imported on first access, so
describing the plugin stays cheap.
"""

from typing import TYPE_CHECKING, Any

from moonlight.connectors.olymp.config import OlympAccount, OlympConfig
from moonlight.connectors.olymp.safety import ForbiddenEndpoint, RealAccountRefused

if TYPE_CHECKING:
    from moonlight.connectors.olymp.connector import OlympConnector
    from moonlight.connectors.olymp.session import SessionState

__all__ = [
    "ForbiddenEndpoint",
    "OlympAccount",
    "OlympConfig",
    "OlympConnector",
    "RealAccountRefused",
    "SessionState",
]


def __getattr__(name: str) -> Any:
    """``OlympConnector`` and ``SessionState``, imported when first asked for."""
    if name == "OlympConnector":
        from moonlight.connectors.olymp.connector import OlympConnector

        return OlympConnector
    if name == "SessionState":
        from moonlight.connectors.olymp.session import SessionState

        return SessionState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
