"""MoonLight connector for Olymp Trade's web protocol (reverse-engineered, demo by default).

Olymp Trade publishes no trading API; this connector follows the community-documented
web-terminal protocol (see ``docs/connectors/olymp.md``). It is unverified for
real-money use and Olymp Trade's client agreement reportedly forbids automated trading:
real accounts are refused unless ``allow_real_account: true`` is configured.
"""

from moonlight.connectors.olymp.config import OlympAccount, OlympConfig
from moonlight.connectors.olymp.connector import OlympConnector
from moonlight.connectors.olymp.safety import ForbiddenEndpoint, RealAccountRefused
from moonlight.connectors.olymp.session import SessionState

__all__ = [
    "ForbiddenEndpoint",
    "OlympAccount",
    "OlympConfig",
    "OlympConnector",
    "RealAccountRefused",
    "SessionState",
]
