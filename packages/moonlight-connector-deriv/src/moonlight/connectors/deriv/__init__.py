"""MoonLight connector for Deriv's documented WebSocket API (legacy v3 and the new API).

Public names: :class:`DerivConnector` and its configuration :class:`DerivConfig`; the
plugin entry point is :mod:`moonlight.connectors.deriv.plugin`.
"""

from moonlight.connectors.deriv.config import DerivConfig
from moonlight.connectors.deriv.connector import DerivConnector

__all__ = ["DerivConfig", "DerivConnector"]
