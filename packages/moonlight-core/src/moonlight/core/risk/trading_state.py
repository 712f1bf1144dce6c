"""Each account's trading state — ACTIVE, REDUCING or HALTED — derived from its guards.

* **HALTED** — no new order will be allowed for the account until a documented recovery:
  a kill-switch (global or the account's), the daily loss cap, a consecutive-loss
  cool-down, or an open circuit breaker.
* **REDUCING** — orders are still possible but restricted: the circuit breaker is
  half-open (one probe order at a time), or an open-orders limit is reached (new orders
  wait for a slot).
* **ACTIVE** — nothing restricts the account.

The state is computed on demand from each guard's :class:`GuardStatus` (never stored
separately, so it cannot drift from the guards); the API shows it with the reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from moonlight.core.risk.decision import ReasonCode, Scope


class TradingState(StrEnum):
    """What an account may do right now."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class TradingEffect(StrEnum):
    """How one guard restricts an account: stop it, or only narrow what it may do."""

    HALT = "halt"
    REDUCE = "reduce"


@dataclass(frozen=True, slots=True)
class GuardStatus:
    """One active restriction of an account by one guard, as the API shows it."""

    guard: str
    effect: TradingEffect
    reason: ReasonCode
    scope: Scope
    scope_key: str
    until: datetime | None
    detail: str


@dataclass(frozen=True, slots=True)
class AccountTradingState:
    """An account's trading state and the restrictions that make it so."""

    account_id: str
    state: TradingState
    restrictions: tuple[GuardStatus, ...]


def derive_trading_state(account_id: str, statuses: Iterable[GuardStatus]) -> AccountTradingState:
    """HALTED if any restriction halts, else REDUCING if any exists, else ACTIVE."""
    restrictions = tuple(statuses)
    if any(s.effect is TradingEffect.HALT for s in restrictions):
        state = TradingState.HALTED
    elif restrictions:
        state = TradingState.REDUCING
    else:
        state = TradingState.ACTIVE
    return AccountTradingState(account_id, state, restrictions)
