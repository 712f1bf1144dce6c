"""Daily loss cap: stop an account for the rest of its trading day once it lost enough.

The day runs from midnight to midnight in ``risk.timezone``. The account's net P&L of
the day is the sum of ``pnl`` of the results recorded that day (wins offset losses),
rounded to 8 decimals after each result (storage's money precision) so that cents add
up exactly. The guard **trips** when a result brings the net loss to the cap or beyond
(``-pnl_today ≥ cap``), and from then on blocks the account with ``daily_loss_cap``
until the next local midnight — a later win the same day does not lift it. At midnight
the day's P&L starts again from zero and the block ends.

The cap is either an amount in account currency (``daily_loss_cap_amount``) or a
percentage of the start-of-day balance (``daily_loss_cap_pct``). The start-of-day
balance is the first balance seen that day: a decision's ``balance``, or a result's
``balance_after − pnl``; when the first balance arrives after results without one, it
is taken as ``balance − pnl_today``.

Persisted under ``guard:daily_loss_cap:<account>`` on every result and trip, so a
restart the same day keeps the P&L and the trip; a restart on a later day starts fresh.
At start-up the engine restates each account's day from the stored results
(:meth:`DailyLossCap.on_day_pnl`), so the cap counts exactly what storage holds.
A stored record that cannot be read counts as tripped for the current day (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from moonlight.core.risk.decision import ALLOW, GuardDecision, ReasonCode, Scope, block
from moonlight.core.risk.guards.base import SYSTEM_ACTOR, Guard, GuardContext, TradeResult
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.state_store import dump_time, load_time
from moonlight.core.risk.trading_state import GuardStatus, TradingEffect

KEY_PREFIX = "guard:daily_loss_cap:"
MONEY_DECIMALS = 8  # as storage keeps money; stops float drift (30 + 19.99 + 0.01 < 50)


class DailyLossCapConfig(BaseModel):
    """Exactly one of the two caps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_loss_cap_amount: float | None = Field(
        default=None, gt=0, description="Largest net loss of one trading day, account currency."
    )
    daily_loss_cap_pct: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="Largest net loss of one trading day, percent of start-of-day balance.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> DailyLossCapConfig:
        if (self.daily_loss_cap_amount is None) == (self.daily_loss_cap_pct is None):
            raise ValueError("set exactly one of daily_loss_cap_amount and daily_loss_cap_pct")
        return self


def trading_day(now: datetime, tz: ZoneInfo) -> tuple[date, datetime]:
    """The local trading day containing ``now`` and the UTC instant it ends (next midnight).

    A midnight that does not exist locally (a DST gap at 00:00) resolves to the instant
    the clocks jump, which is when the new day starts.
    """
    day = now.astimezone(tz).date()
    ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return day, ends


@dataclass(slots=True)
class _AccountDay:
    day: date
    pnl: float = 0.0
    start_balance: float | None = None
    tripped_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "pnl": self.pnl,
            "start_balance": self.start_balance,
            "tripped_at": dump_time(self.tripped_at),
        }


class DailyLossCap(Guard):
    """Per-account daily loss cap, reset at the configured timezone's midnight."""

    name = "daily_loss_cap"

    def __init__(self, config: DailyLossCapConfig, *, context: GuardContext) -> None:
        self.config = config
        self._context = context
        self._tz = context.timezone
        self._day, self._day_ends = trading_day(context.now(), self._tz)
        self._accounts: dict[str, _AccountDay] = {}
        for key, value in context.store.load_prefix(KEY_PREFIX).items():
            stored = _load(value)
            if stored is None:  # damaged record: fail closed for the rest of the day
                stored = _AccountDay(self._day, tripped_at=context.now())
            if stored.day == self._day:
                self._accounts[key[len(KEY_PREFIX) :]] = stored

    # ------------------------------------------------------------------ hot path

    def check(self, request: DecisionRequest, now: datetime) -> GuardDecision:
        """Block a tripped account until the day ends; learn the start balance if new."""
        if now >= self._day_ends:
            self._roll(now)
        state = self._accounts.get(request.account_id)
        if state is None:
            self._accounts[request.account_id] = _AccountDay(
                self._day, start_balance=request.balance
            )
            return ALLOW
        if state.tripped_at is None and state.start_balance is None:
            state.start_balance = request.balance - state.pnl
            self._maybe_trip(request.account_id, state, now)  # persists only if it trips
        if state.tripped_at is not None:
            return block(
                ReasonCode.DAILY_LOSS_CAP,
                Scope.ACCOUNT,
                request.account_id,
                f"net loss today {-state.pnl:.2f} reached the cap {self._cap(state):.2f}",
                until=self._day_ends,
            )
        return ALLOW

    # ------------------------------------------------------------------ events

    def on_result(self, result: TradeResult, now: datetime) -> None:
        """Add the result's P&L to the account's day; trip when the cap is reached."""
        if now >= self._day_ends:
            self._roll(now)
        state = self._accounts.get(result.account_id)
        if state is None:
            state = self._accounts[result.account_id] = _AccountDay(self._day)
        if state.start_balance is None and result.balance_after is not None:
            state.start_balance = result.balance_after - result.pnl - state.pnl
        state.pnl = round(state.pnl + result.pnl, MONEY_DECIMALS)
        if not self._maybe_trip(result.account_id, state, now):
            self._save(result.account_id, state)

    def on_day_pnl(self, account_id: str, pnl_today: float, now: datetime) -> None:
        """Take the day's P&L from the stored results (a crash between a result and this
        guard's save, or results settled at reconciliation, cannot make them disagree)."""
        if now >= self._day_ends:
            self._roll(now)
        state = self._accounts.get(account_id)
        if state is None:
            state = self._accounts[account_id] = _AccountDay(self._day)
        pnl = round(pnl_today, MONEY_DECIMALS)
        if pnl == state.pnl:
            return
        state.pnl = pnl
        if not self._maybe_trip(account_id, state, now):
            self._save(account_id, state)

    # ------------------------------------------------------------------ state

    def statuses(self, account_id: str, now: datetime) -> list[GuardStatus]:
        """HALT until the day ends while the account is tripped."""
        if now >= self._day_ends:
            self._roll(now)
        state = self._accounts.get(account_id)
        if state is None or state.tripped_at is None:
            return []
        return [
            GuardStatus(
                guard=self.name,
                effect=TradingEffect.HALT,
                reason=ReasonCode.DAILY_LOSS_CAP,
                scope=Scope.ACCOUNT,
                scope_key=account_id,
                until=self._day_ends,
                detail=f"net loss today {-state.pnl:.2f} reached the cap {self._cap(state):.2f}",
            )
        ]

    def pnl_today(self, account_id: str) -> float:
        """The account's net P&L of the current trading day (0 when nothing settled)."""
        state = self._accounts.get(account_id)
        return 0.0 if state is None else state.pnl

    def day_ends(self) -> datetime:
        """The UTC instant the current trading day ends and every cap resets."""
        return self._day_ends

    # ------------------------------------------------------------------ internals

    def _cap(self, state: _AccountDay) -> float:
        """The cap in account currency; infinite while a percentage lacks its balance."""
        if self.config.daily_loss_cap_amount is not None:
            return self.config.daily_loss_cap_amount
        if state.start_balance is None or self.config.daily_loss_cap_pct is None:
            return float("inf")
        return state.start_balance * self.config.daily_loss_cap_pct / 100.0

    def _maybe_trip(self, account_id: str, state: _AccountDay, now: datetime) -> bool:
        if state.tripped_at is None and -state.pnl >= self._cap(state):
            state.tripped_at = now
            self._save(account_id, state)
            return True
        return False

    def _roll(self, now: datetime) -> None:
        """A new trading day: every account starts again from zero."""
        self._day, self._day_ends = trading_day(now, self._tz)
        self._accounts = {k: v for k, v in self._accounts.items() if v.day == self._day}

    def _save(self, account_id: str, state: _AccountDay) -> None:
        self._context.store.save(
            f"{KEY_PREFIX}{account_id}", state.to_json(), updated_by=SYSTEM_ACTOR
        )


def _load(value: dict[str, Any]) -> _AccountDay | None:
    try:
        day = date.fromisoformat(str(value["day"]))
        pnl = float(value.get("pnl", 0.0))
    except (KeyError, ValueError):
        return None
    start = value.get("start_balance")
    return _AccountDay(
        day=day,
        pnl=pnl,
        start_balance=None if start is None else float(start),
        tripped_at=load_time(value.get("tripped_at")),
    )
