"""Kelly-lite: a fraction of the Kelly stake, capped, and nothing without an edge.

For a fixed-time contract paying ``b = payout_pct / 100`` per unit staked on a win and
losing the stake otherwise, the Kelly fraction of the balance is

    f* = (p̂·b − (1 − p̂)) / b

The policy stakes ``balance × min(kelly_fraction × f*, max_fraction_of_balance)``, and
nothing when ``p̂ ≤ 1 / (1 + b)`` (break-even, where f* ≤ 0) or the balance is not
positive. Full Kelly is far too aggressive with an estimated p̂; a quarter Kelly and a
small cap are the defaults.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.risk.request import DecisionRequest


class KellyLiteConfig(BaseModel):
    """How much of the Kelly stake to take, and the most of the balance ever staked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kelly_fraction: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Multiplier on the Kelly fraction (0.25 = quarter Kelly).",
    )
    max_fraction_of_balance: float = Field(
        default=0.02, gt=0, le=1, description="Cap: most of the balance one order may stake."
    )


def kelly_fraction(p_hat: float, payout_pct: float) -> float:
    """Full Kelly f* for win probability ``p_hat`` at ``payout_pct`` %; 0 without an edge.

    Exactly 0 whenever ``p_hat ≤ 1/(1+b)`` as computed in floating point, so rounding
    can never turn break-even into a tiny positive stake.
    """
    b = payout_pct / 100.0
    if not b > 0.0 or not p_hat > 1.0 / (1.0 + b):
        return 0.0
    f = (p_hat * b - (1.0 - p_hat)) / b
    return f if f > 0.0 else 0.0


class KellyLite:
    """Fractional, capped Kelly stake on the current balance."""

    name = "kelly_lite"

    def __init__(self, config: KellyLiteConfig) -> None:
        self.config = config
        self._multiplier = config.kelly_fraction
        self._cap = config.max_fraction_of_balance

    def stake(self, request: DecisionRequest) -> float:
        """``balance × min(kelly_fraction × f*, cap)``; 0 without an edge or a balance."""
        balance = request.balance
        payout = request.payout_pct
        if payout is None or not balance > 0.0:
            return 0.0
        f = kelly_fraction(request.p_hat, payout)
        if f == 0.0:
            return 0.0
        share = self._multiplier * f
        return balance * (share if share < self._cap else self._cap)
