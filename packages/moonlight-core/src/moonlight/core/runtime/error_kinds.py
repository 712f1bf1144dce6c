"""The risk guards' name for a connector failure (one table, used by worker and trader)."""

from __future__ import annotations

from moonlight.core.connectors.contract import (
    Ambiguous,
    AuthFailed,
    ConnectorError,
    Disconnected,
    RateLimited,
    Rejected,
)
from moonlight.core.risk.guards.base import ConnectorErrorKind

_ERROR_KINDS: tuple[tuple[type[ConnectorError], ConnectorErrorKind], ...] = (
    (RateLimited, ConnectorErrorKind.RATE_LIMITED),
    (Ambiguous, ConnectorErrorKind.AMBIGUOUS),
    (Disconnected, ConnectorErrorKind.DISCONNECTED),
    (Rejected, ConnectorErrorKind.REJECTED),
    (AuthFailed, ConnectorErrorKind.AUTH_FAILED),
)


def classify_error(error: BaseException) -> ConnectorErrorKind:
    """The risk guards' name for a connector failure (anything else: transient)."""
    for kind_type, kind in _ERROR_KINDS:
        if isinstance(error, kind_type):
            return kind
    return ConnectorErrorKind.TRANSIENT
