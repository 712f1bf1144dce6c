"""Fraction of balance: stake a fixed share of the account's current balance."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.risk.request import DecisionRequest


class FractionOfBalanceConfig(BaseModel):
    """The share of the balance staked on every order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fraction_of_balance: float = Field(
        default=0.01, gt=0, le=1, description="Share of the current balance staked (0.01 = 1 %)."
    )


class FractionOfBalance:
    """Stakes ``balance × fraction_of_balance`` (nothing when the balance is not positive)."""

    name = "fraction"

    def __init__(self, config: FractionOfBalanceConfig) -> None:
        self.config = config
        self._fraction = config.fraction_of_balance

    def stake(self, request: DecisionRequest) -> float:
        """The configured share of the balance."""
        balance = request.balance
        return balance * self._fraction if balance > 0.0 else 0.0
