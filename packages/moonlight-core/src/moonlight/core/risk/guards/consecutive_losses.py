"""Consecutive-loss stop: after N losses in a row, pause for a cool-down.

Each ``lose`` result adds one to the streak, each ``win`` resets it to zero; ``push``
and ``abort`` neither count nor reset (they say nothing about the edge). When the streak
reaches ``max_consecutive_losses`` the guard **trips**: it blocks with
``consecutive_losses`` until ``trip time + cool_down_s`` (the block ends exactly then)
and the streak starts again from zero. Losses of orders still open during the cool-down
count towards the next streak; reaching the limit again restarts the cool-down from
that result.

The streak is kept per account, or per account and instrument with
``per_instrument: true``. Persisted under ``guard:consecutive_losses:<scope key>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.orders import Outcome
from moonlight.core.risk.decision import ALLOW, GuardDecision, ReasonCode, Scope, block
from moonlight.core.risk.guards.base import SYSTEM_ACTOR, Guard, GuardContext, TradeResult
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.state_store import dump_time, load_time
from moonlight.core.risk.trading_state import GuardStatus, TradingEffect

KEY_PREFIX = "guard:consecutive_losses:"


class ConsecutiveLossesConfig(BaseModel):
    """How many losses in a row stop trading, and for how long."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_consecutive_losses: int = Field(
        default=3, ge=1, le=1000, description="Losses in a row that trip the stop."
    )
    cool_down_s: float = Field(
        default=3600.0, gt=0, description="Seconds trading stays stopped after the trip."
    )
    per_instrument: bool = Field(
        default=False,
        description="Count streaks per account and instrument instead of per account.",
    )


@dataclass(slots=True)
class _Streak:
    losses: int = 0
    blocked_until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"losses": self.losses, "blocked_until": dump_time(self.blocked_until)}


class ConsecutiveLosses(Guard):
    """Stops an account (or one of its instruments) after a losing streak."""

    name = "consecutive_losses"

    def __init__(self, config: ConsecutiveLossesConfig, *, context: GuardContext) -> None:
        self.config = config
        self._context = context
        self._cool_down = timedelta(seconds=config.cool_down_s)
        self._scope = Scope.INSTRUMENT if config.per_instrument else Scope.ACCOUNT
        self._streaks: dict[str, _Streak] = {}
        for key, value in context.store.load_prefix(KEY_PREFIX).items():
            self._streaks[key[len(KEY_PREFIX) :]] = _load(value, context.now() + self._cool_down)

    def _key(self, account_id: str, instrument: str) -> str:
        return f"{account_id}/{instrument}" if self.config.per_instrument else account_id

    # ------------------------------------------------------------------ hot path

    def check(self, request: DecisionRequest, now: datetime) -> GuardDecision:
        """Block while the streak's cool-down runs (``now < blocked_until``)."""
        key = self._key(request.account_id, request.instrument)
        streak = self._streaks.get(key)
        if streak is None or streak.blocked_until is None or now >= streak.blocked_until:
            return ALLOW
        return block(
            ReasonCode.CONSECUTIVE_LOSSES,
            self._scope,
            key,
            f"{self.config.max_consecutive_losses} losses in a row; cooling down",
            until=streak.blocked_until,
        )

    # ------------------------------------------------------------------ events

    def on_result(self, result: TradeResult, now: datetime) -> None:
        """Count a loss, reset on a win; trip at the limit. Persists every change."""
        if result.outcome is Outcome.WIN:
            key = self._key(result.account_id, result.instrument)
            streak = self._streaks.get(key)
            if streak is not None and streak.losses:
                streak.losses = 0
                self._save(key, streak)
            return
        if result.outcome is not Outcome.LOSE:
            return
        key = self._key(result.account_id, result.instrument)
        streak = self._streaks.setdefault(key, _Streak())
        streak.losses += 1
        if streak.losses >= self.config.max_consecutive_losses:
            streak.losses = 0
            streak.blocked_until = now + self._cool_down
        self._save(key, streak)

    # ------------------------------------------------------------------ state

    def statuses(self, account_id: str, now: datetime) -> list[GuardStatus]:
        """HALT for every cooling-down streak of the account (account or instruments)."""
        found = []
        for key, streak in self._streaks.items():
            if streak.blocked_until is None or now >= streak.blocked_until:
                continue
            if key != account_id and not key.startswith(f"{account_id}/"):
                continue
            found.append(
                GuardStatus(
                    guard=self.name,
                    effect=TradingEffect.HALT,
                    reason=ReasonCode.CONSECUTIVE_LOSSES,
                    scope=self._scope,
                    scope_key=key,
                    until=streak.blocked_until,
                    detail=f"{self.config.max_consecutive_losses} losses in a row",
                )
            )
        return found

    def losses_in_a_row(self, account_id: str, instrument: str = "") -> int:
        """The current streak of the account (or account and instrument)."""
        streak = self._streaks.get(self._key(account_id, instrument))
        return 0 if streak is None else streak.losses

    def _save(self, key: str, streak: _Streak) -> None:
        self._context.store.save(f"{KEY_PREFIX}{key}", streak.to_json(), updated_by=SYSTEM_ACTOR)


def _load(value: dict[str, Any], damaged_until: datetime) -> _Streak:
    """The stored streak; a damaged record blocks for one cool-down (fail closed)."""
    try:
        losses = int(value.get("losses", 0))
    except (TypeError, ValueError):
        return _Streak(0, damaged_until)
    raw_until = value.get("blocked_until")
    until = load_time(raw_until)
    if raw_until is not None and until is None:
        return _Streak(losses, damaged_until)
    return _Streak(losses, until)
