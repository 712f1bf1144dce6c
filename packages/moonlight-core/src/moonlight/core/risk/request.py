"""What risk is asked about: one candidate order and everything needed to judge it.

The engine fills one :class:`DecisionRequest` per ensemble decision from the ensemble
output (p̂, direction), the instrument cache (payout, stake limits) and the account
(balance, max stake). It is a plain frozen record so the hot path allocates once.
"""

from __future__ import annotations

from dataclasses import dataclass

from moonlight.core.orders import Direction


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """One candidate order.

    ``payout_pct`` is the broker's payout in percent of the stake (85 means a win pays
    back the stake plus 0.85 × stake); None when the instrument cache has no payout.
    ``min_stake`` / ``max_stake`` are the broker's limits for the instrument, as its
    connector reports them (``Instrument.stake_min`` / ``stake_max``; None: no limit),
    ``account_max_stake`` the account's configured cap, ``balance`` the account's
    available balance, all in the account currency. ``stake_step`` (when given) is the
    broker's stake increment; stakes are rounded *down* to it.
    """

    account_id: str
    instrument: str
    direction: Direction
    p_hat: float
    payout_pct: float | None
    balance: float
    account_max_stake: float
    min_stake: float | None = None
    max_stake: float | None = None
    stake_step: float | None = None
    timeframe: str = ""
