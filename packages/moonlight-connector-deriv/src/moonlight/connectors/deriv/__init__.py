"""MoonLight connector for Deriv's documented WebSocket API (legacy v3 and the new API).

Public names: :class:`DerivConnector` and its configuration :class:`DerivConfig`; the
plugin entry point is :mod:`moonlight.connectors.deriv.plugin`. The connector (websockets,
SQLAlchemy) is imported on first access, so describing the plugin stays cheap.
"""

from typing import TYPE_CHECKING, Any

from moonlight.connectors.deriv.config import DerivConfig

if TYPE_CHECKING:
    from moonlight.connectors.deriv.connector import DerivConnector

__all__ = ["DerivConfig", "DerivConnector"]


def __getattr__(name: str) -> Any:
    """``DerivConnector``, imported when first asked for."""
    if name == "DerivConnector":
        from moonlight.connectors.deriv.connector import DerivConnector

        return DerivConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
