"""How a fixed-time contract settles: the one rule the mock and the paper broker share.

* **Entry price** — the first price strictly after the broker accepted the order.
* **Expiry** — acceptance time + duration.
* **Exit price** — the prevailing price at expiry: the last price at or before it. When
  no price arrived between entry and expiry (a contract shorter than the tick interval),
  the exit price is the entry price and the contract is a push.
* **Outcome** — ``up`` wins when exit > entry, ``down`` wins when exit < entry; equal
  prices are a push.
* **Money** — the stake is debited at acceptance; a win credits ``stake × (1 + payout)``
  (profit ``stake × payout``), a push returns the stake (profit 0), a loss credits
  nothing (profit ``-stake``). ``payout`` is ``payout_pct / 100``. Amounts are rounded
  to 8 decimals, the precision storage keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from moonlight.core.orders import Direction, Outcome

MONEY_DECIMALS = 8


@dataclass(frozen=True, slots=True)
class ContractResult:
    """Outcome, profit and the amount credited back to the account."""

    outcome: Outcome
    pnl: float
    credit: float


def settle_contract(
    direction: Direction, stake: float, payout_pct: float, entry_price: float, exit_price: float
) -> ContractResult:
    """Apply the module's rule to one contract."""
    if exit_price == entry_price:
        return ContractResult(Outcome.PUSH, 0.0, round(stake, MONEY_DECIMALS))
    won = exit_price > entry_price if direction is Direction.UP else exit_price < entry_price
    if won:
        profit = round(stake * payout_pct / 100.0, MONEY_DECIMALS)
        return ContractResult(Outcome.WIN, profit, round(stake + profit, MONEY_DECIMALS))
    return ContractResult(Outcome.LOSE, round(-stake, MONEY_DECIMALS), 0.0)
