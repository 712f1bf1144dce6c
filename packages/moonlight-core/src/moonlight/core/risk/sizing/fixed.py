"""Fixed stake: the same amount on every order."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.risk.request import DecisionRequest


class FixedStakeConfig(BaseModel):
    """The amount staked on every order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stake_amount: float = Field(
        default=1.0, gt=0, description="Stake of every order, in account currency."
    )


class FixedStake:
    """Stakes ``stake_amount`` on every order."""

    name = "fixed"

    def __init__(self, config: FixedStakeConfig) -> None:
        self.config = config
        self._amount = config.stake_amount

    def stake(self, request: DecisionRequest) -> float:
        """Always the configured amount."""
        return self._amount
