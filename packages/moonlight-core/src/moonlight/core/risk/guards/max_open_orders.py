"""Max open orders: cap how many orders an account, and each instrument, has in flight.

An order is open from :meth:`~Guard.on_order_opened` (it entered PREPARE) until
:meth:`~Guard.on_order_closed` (SETTLED or FAILED). A decision is blocked with
``max_open_orders_account`` while the account has ``max_open_per_account`` open orders,
or ``max_open_orders_instrument`` while the instrument has ``max_open_per_instrument``;
it is allowed again as soon as one of them closes. Both calls are idempotent per
``client_req_id``, so a repeated event cannot drift the count.

Not persisted: the executor's order table is the truth. At start-up the engine reports
every non-terminal order it reconciled through ``on_order_opened`` before trading.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.risk.decision import ALLOW, GuardDecision, ReasonCode, Scope, block
from moonlight.core.risk.guards.base import Guard, GuardContext
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.trading_state import GuardStatus, TradingEffect

_NONE: frozenset[str] = frozenset()


class MaxOpenOrdersConfig(BaseModel):
    """Limits on orders in flight; None switches a limit off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_open_per_account: int | None = Field(
        default=5, ge=1, description="Most orders open at once in one account."
    )
    max_open_per_instrument: int | None = Field(
        default=1, ge=1, description="Most orders open at once on one instrument of an account."
    )


class MaxOpenOrders(Guard):
    """Counts open orders per account and per (account, instrument)."""

    name = "max_open_orders"

    def __init__(self, config: MaxOpenOrdersConfig, *, context: GuardContext) -> None:
        self.config = config
        self._by_account: dict[str, set[str]] = {}
        self._by_instrument: dict[tuple[str, str], set[str]] = {}

    # ------------------------------------------------------------------ hot path

    def check(self, request: DecisionRequest, now: datetime) -> GuardDecision:
        """Block while the account or the instrument is at its limit."""
        limit = self.config.max_open_per_account
        if limit is not None and len(self._by_account.get(request.account_id, _NONE)) >= limit:
            return block(
                ReasonCode.MAX_OPEN_ORDERS_ACCOUNT,
                Scope.ACCOUNT,
                request.account_id,
                f"{limit} orders open in the account",
            )
        limit = self.config.max_open_per_instrument
        key = (request.account_id, request.instrument)
        if limit is not None and len(self._by_instrument.get(key, _NONE)) >= limit:
            return block(
                ReasonCode.MAX_OPEN_ORDERS_INSTRUMENT,
                Scope.INSTRUMENT,
                f"{request.account_id}/{request.instrument}",
                f"{limit} orders open on {request.instrument}",
            )
        return ALLOW

    # ------------------------------------------------------------------ events

    def on_order_opened(
        self, account_id: str, instrument: str, client_req_id: str, now: datetime
    ) -> None:
        """Count the order as open (once, however often it is reported)."""
        self._by_account.setdefault(account_id, set()).add(client_req_id)
        self._by_instrument.setdefault((account_id, instrument), set()).add(client_req_id)

    def on_order_closed(
        self, account_id: str, instrument: str, client_req_id: str, now: datetime
    ) -> None:
        """Stop counting the order (a close of an unknown order changes nothing)."""
        self._by_account.get(account_id, set()).discard(client_req_id)
        self._by_instrument.get((account_id, instrument), set()).discard(client_req_id)

    # ------------------------------------------------------------------ state

    def open_orders(self, account_id: str, instrument: str | None = None) -> int:
        """How many orders the account (or one of its instruments) has open."""
        if instrument is None:
            return len(self._by_account.get(account_id, _NONE))
        return len(self._by_instrument.get((account_id, instrument), _NONE))

    def statuses(self, account_id: str, now: datetime) -> list[GuardStatus]:
        """REDUCE for the account and for each instrument that is at its limit."""
        found = []
        limit = self.config.max_open_per_account
        if limit is not None and self.open_orders(account_id) >= limit:
            found.append(
                GuardStatus(
                    self.name,
                    TradingEffect.REDUCE,
                    ReasonCode.MAX_OPEN_ORDERS_ACCOUNT,
                    Scope.ACCOUNT,
                    account_id,
                    None,
                    f"{limit} orders open in the account",
                )
            )
        limit = self.config.max_open_per_instrument
        if limit is not None:
            for (account, instrument), open_ids in self._by_instrument.items():
                if account == account_id and len(open_ids) >= limit:
                    found.append(
                        GuardStatus(
                            self.name,
                            TradingEffect.REDUCE,
                            ReasonCode.MAX_OPEN_ORDERS_INSTRUMENT,
                            Scope.INSTRUMENT,
                            f"{account}/{instrument}",
                            None,
                            f"{limit} orders open on {instrument}",
                        )
                    )
        return found
