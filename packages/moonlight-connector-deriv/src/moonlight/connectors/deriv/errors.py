"""Deriv ``error.code`` values → the connector contract's typed errors.

The contract's table says, for each error, whether the broker may have acted. Deriv
answers every refused call with ``{error: {code, message}}``; the code decides:

* ``RateLimit`` → :class:`RateLimited` (the server gives no Retry-After; the caller
  supplies one from its budget);
* token and permission codes → :class:`AuthFailed` (stop, operator action);
* an expired proposal → :class:`Transient` (nothing was bought; price again);
* server-side failures → :class:`Transient` -- except on ``buy``, where a server failure
  after the request arrived cannot prove that no contract exists: :class:`Ambiguous`;
* every other code (validation, closed market, funds, moved price) → :class:`Rejected`,
  with a stable reason code where one is known (``PriceMoved`` → ``price_moved``).
"""

from __future__ import annotations

from moonlight.connectors.deriv.protocol import Message
from moonlight.core.connectors.contract import (
    Ambiguous,
    AuthFailed,
    ConnectorError,
    RateLimited,
    Rejected,
    Transient,
)

RATE_LIMIT_CODES = frozenset({"RateLimit"})
AUTH_CODES = frozenset(
    {
        "InvalidToken",
        "AuthorizationRequired",
        "PermissionDenied",
        "InvalidAppID",
        "DisabledClient",
        "AccountDisabled",
        "Unauthorized",
    }
)
RETRY_CODES = frozenset({"InvalidContractProposal", "ProposalExpired"})
PRICE_MOVED = "price_moved"
#: Deriv error codes → the stable reason codes stored on a rejected order.
REJECT_CODES = {
    "PriceMoved": PRICE_MOVED,
    "MarketIsClosed": "market_closed",
    "InsufficientBalance": "insufficient_balance",
    "ContractBuyValidationError": "invalid_order",
    "InputValidationFailed": "invalid_order",
}
SERVER_CODES = frozenset(
    {"InternalServerError", "WrongResponse", "ServiceUnavailable", "Timeout", "ServerError"}
)


def error_for(message: Message, *, call: str, retry_after_s: float) -> ConnectorError:
    """The typed error for an error reply to ``call``."""
    code = message.error_code or "UnknownError"
    text = f"Deriv {call}: {code}: {message.error_message or code}"
    if code in RATE_LIMIT_CODES:
        return RateLimited(retry_after_s, text)
    if code in AUTH_CODES:
        return AuthFailed(text)
    if code in SERVER_CODES:
        return Ambiguous(text) if call == "buy" else Transient(text)
    if code in RETRY_CODES:
        return Transient(text)
    return Rejected(text, code=REJECT_CODES.get(code))
