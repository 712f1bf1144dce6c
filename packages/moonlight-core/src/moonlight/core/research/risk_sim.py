"""The account's sequence of decisions and settlements, as the engine lives it.

Inputs: the candidate decisions of one worker (bars whose ensemble vote has a
direction and whose p̂ passes the stateless permit and threshold rules), each with the
contract it would open (outcome at expiry, settlement instant). What remains is
sequential: the guards see results as they settle, the balance moves, the stake depends
on it. Everything happens as in the engine:

* at a decision: settlements that reached the engine earlier are booked first (trader
  balance, guards' ``on_result`` then ``on_order_closed``); then the guards are checked
  in the configured order (kill-switch first), then sizing and the stake clamp; an
  allowed order is counted open and sent to the paper broker, which refuses it -- an
  immediate abort -- when the duration is not offered or its book cannot cover the
  stake;
* a settlement reaches the engine at the paper broker's first polling instant at or
  after expiry (:func:`moonlight.core.backtest.engine.settle_instant`).

Two implementations with one contract:

* :func:`simulate_builtin` -- the Numba kernel
  (:func:`~moonlight.core.research.kernels.simulate_kernel`) for configurations made of
  the built-in guards and sizing policies;
* :func:`simulate_exact` -- the real :class:`~moonlight.core.risk.manager.RiskManager`
  built from the configuration and registry (any plugin guard or policy), driven
  through the same events. Slower; also the reference the kernel is tested against.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from moonlight.core.config.models import RiskConfig
from moonlight.core.connectors.settlement import ContractResult, settle_contract
from moonlight.core.orders import Direction, Outcome
from moonlight.core.plugins.registry import ComponentKind, Registry
from moonlight.core.research import kernels as k
from moonlight.core.risk.builder import build_risk_manager
from moonlight.core.risk.guards.base import TradeResult
from moonlight.core.risk.guards.circuit_breaker import CircuitBreaker
from moonlight.core.risk.guards.consecutive_losses import ConsecutiveLosses
from moonlight.core.risk.guards.daily_loss_cap import DailyLossCap, trading_day
from moonlight.core.risk.guards.kill_switch import KillSwitch
from moonlight.core.risk.guards.max_open_orders import MaxOpenOrders
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.sizing.fixed import FixedStake
from moonlight.core.risk.sizing.fraction import FractionOfBalance
from moonlight.core.risk.sizing.kelly import KellyLite
from moonlight.core.risk.state_store import MemoryGuardStateStore

FloatArray = npt.NDArray[np.float64]

#: Refusal reasons by kernel code (0: not refused).
REASONS: tuple[str, ...] = (
    "",
    "max_open_orders_account",
    "max_open_orders_instrument",
    "consecutive_losses",
    "daily_loss_cap",
    "stake_zero",
    "stake_below_broker_min",
)
_GUARD_KINDS: dict[type, int] = {
    KillSwitch: k.G_PASS,
    CircuitBreaker: k.G_PASS,
    MaxOpenOrders: k.G_MAX_OPEN,
    ConsecutiveLosses: k.G_CONSECUTIVE,
    DailyLossCap: k.G_DAILY,
}
_SIZING_KINDS: dict[type, int] = {
    FixedStake: k.S_FIXED,
    FractionOfBalance: k.S_FRACTION,
    KellyLite: k.S_KELLY,
}
_OUTCOME_OF = {k.OUT_WIN: Outcome.WIN, k.OUT_LOSE: Outcome.LOSE, k.OUT_PUSH: Outcome.PUSH}


@dataclass(frozen=True, slots=True)
class Account:
    """What the simulation needs to know about the account and its instrument."""

    account_id: str
    instrument: str
    timeframe: str
    payout_pct: float
    stake_min: float
    stake_max: float
    account_max_stake: float
    duration_offered: bool
    starting_balance: float
    #: When the engine started (the guards' first trading day; the settlement grid).
    start_ts: float


@dataclass(frozen=True, slots=True)
class Candidates:
    """Candidate decisions in time order (see the module docstring)."""

    decide_ts: FloatArray
    p_hat: FloatArray
    direction: npt.NDArray[np.int8]
    #: Outcome code of the contract (kernels.OUT_*), and when its result is booked.
    outcome: npt.NDArray[np.int8]
    settle_ts: FloatArray
    client_req_id: Sequence[str]


@dataclass(frozen=True, slots=True)
class Simulated:
    """Per candidate: refused / traded / aborted, stake, reason, profit, settled at.

    ``reason_code`` indexes ``reasons`` (code 0, "", for an order that was sent).
    """

    status: npt.NDArray[np.int8]
    stake: FloatArray
    reason_code: npt.NDArray[np.int64]
    reasons: tuple[str, ...]
    pnl: FloatArray
    settled_ts: FloatArray

    def reason(self, index: int) -> str:
        """The refusal reason of candidate ``index`` ("" when it was sent)."""
        return self.reasons[int(self.reason_code[index])]


@dataclass(frozen=True, slots=True)
class KernelPlan:
    """The kernel's parameters for a risk configuration of built-in components."""

    sizing_kind: int
    sizing_a: float
    sizing_b: float
    guards: npt.NDArray[np.int64]
    max_open_account: int = -1
    max_open_instrument: int = -1
    max_losses: int = -1
    cool_down_s: float = 0.0
    daily_cap_amount: float = math.nan
    daily_cap_pct: float = math.nan


def builtin_plan(risk: RiskConfig, registry: Registry) -> KernelPlan | None:
    """Kernel parameters for ``risk``, or None when a component is not a built-in."""
    sizing_spec = registry.get(ComponentKind.SIZING_POLICY, risk.sizing.policy)
    factory = sizing_spec.factory
    sizing_kind = _SIZING_KINDS.get(factory) if isinstance(factory, type) else None
    if sizing_kind is None or sizing_spec.config_model is None:
        return None
    params: Any = sizing_spec.config_model.model_validate(risk.sizing.params)
    if sizing_kind == k.S_FIXED:
        sizing = (float(params.stake_amount), 0.0)
    elif sizing_kind == k.S_FRACTION:
        sizing = (float(params.fraction_of_balance), 0.0)
    else:
        sizing = (float(params.kelly_fraction), float(params.max_fraction_of_balance))
    settings: dict[str, Any] = {}
    guards: list[int] = []
    for guard_config in risk.guards:
        spec = registry.get(ComponentKind.GUARD, guard_config.name)
        kind = _GUARD_KINDS.get(spec.factory) if isinstance(spec.factory, type) else None
        if kind is None or spec.config_model is None:
            return None
        config: Any = spec.config_model.model_validate(guard_config.params)
        if kind == k.G_MAX_OPEN:
            account, instrument = config.max_open_per_account, config.max_open_per_instrument
            settings["max_open_account"] = -1 if account is None else int(account)
            settings["max_open_instrument"] = -1 if instrument is None else int(instrument)
        elif kind == k.G_CONSECUTIVE:
            settings["max_losses"] = int(config.max_consecutive_losses)
            settings["cool_down_s"] = float(config.cool_down_s)
        elif kind == k.G_DAILY:
            amount, pct = config.daily_loss_cap_amount, config.daily_loss_cap_pct
            settings["daily_cap_amount"] = math.nan if amount is None else float(amount)
            settings["daily_cap_pct"] = math.nan if pct is None else float(pct)
        guards.append(kind)
    return KernelPlan(
        sizing_kind, sizing[0], sizing[1], np.asarray(guards, dtype=np.int64), **settings
    )


def day_ends(timezone: str, start_ts: float, until_ts: float) -> FloatArray:
    """Ends of the trading days (local midnights, UTC epoch s) from ``start_ts`` on."""
    zone = ZoneInfo(timezone)
    ends = []
    _, end = trading_day(datetime.fromtimestamp(start_ts, UTC), zone)
    ends.append(end.timestamp())
    while ends[-1] <= until_ts:
        _, end = trading_day(end, zone)
        ends.append(end.timestamp())
    return np.asarray(ends, dtype=np.float64)


def simulate_builtin(
    candidates: Candidates, account: Account, risk: RiskConfig, plan: KernelPlan
) -> Simulated:
    """The kernel path (``plan`` from :func:`builtin_plan`)."""
    last = float(candidates.decide_ts[-1]) if candidates.decide_ts.size else account.start_ts
    settle_last = (
        np.nanmax(candidates.settle_ts) if np.isfinite(candidates.settle_ts).any() else last
    )
    ends = day_ends(risk.timezone, account.start_ts, max(last, float(settle_last)))
    status, stakes, reasons, profits, settled = k.simulate_kernel(
        candidates.decide_ts,
        candidates.p_hat,
        candidates.outcome,
        candidates.settle_ts,
        account.payout_pct,
        account.stake_min,
        account.stake_max,
        account.account_max_stake,
        account.duration_offered,
        account.starting_balance,
        plan.sizing_kind,
        plan.sizing_a,
        plan.sizing_b,
        plan.guards,
        plan.max_open_account,
        plan.max_open_instrument,
        plan.max_losses,
        plan.cool_down_s,
        plan.daily_cap_amount,
        plan.daily_cap_pct,
        ends,
    )
    return Simulated(status, stakes, reasons, REASONS, profits, settled)


def simulate_exact(
    candidates: Candidates, account: Account, risk: RiskConfig, registry: Registry
) -> Simulated:
    """The reference path: the configured RiskManager itself, driven event by event."""
    clock = [account.start_ts]
    manager = build_risk_manager(
        risk,
        registry,
        store=MemoryGuardStateStore(),
        now=lambda: datetime.fromtimestamp(clock[0], UTC),
    )
    n = candidates.decide_ts.size
    status = np.zeros(n, np.int8)
    stakes = np.zeros(n)
    reasons = [""] * n
    profits = np.full(n, np.nan)
    settled = np.full(n, np.nan)
    balance = account.starting_balance
    book = account.starting_balance
    pending: list[tuple[float, int]] = []  # (settle instant, candidate), FIFO by instant

    def book_result(index: int, outcome: Outcome, pnl: float) -> None:
        nonlocal balance
        balance += pnl if outcome is not Outcome.ABORT else 0.0
        cid = candidates.client_req_id[index]
        manager.on_result(
            TradeResult(account.account_id, account.instrument, cid, outcome, pnl, balance)
        )
        manager.on_order_closed(account.account_id, account.instrument, cid)

    def settle_until(moment: float, *, inclusive: bool) -> None:
        nonlocal book
        while pending and (pending[0][0] < moment or (inclusive and pending[0][0] <= moment)):
            at, index = heapq.heappop(pending)
            clock[0] = at
            code = int(candidates.outcome[index])
            direction = Direction.UP if candidates.direction[index] > 0 else Direction.DOWN
            result = _settle(code, direction, float(stakes[index]), account.payout_pct)
            book = round(book + result.credit, 8)
            profits[index] = result.pnl
            settled[index] = at
            book_result(index, result.outcome, result.pnl)

    for i in range(n):
        now = float(candidates.decide_ts[i])
        settle_until(now, inclusive=False)
        clock[0] = now
        direction = Direction.UP if candidates.direction[i] > 0 else Direction.DOWN
        verdict = manager.decide(
            DecisionRequest(
                account_id=account.account_id,
                instrument=account.instrument,
                direction=direction,
                p_hat=float(candidates.p_hat[i]),
                payout_pct=account.payout_pct,
                balance=balance,
                account_max_stake=account.account_max_stake,
                min_stake=account.stake_min,
                max_stake=account.stake_max,
                timeframe=account.timeframe,
            )
        )
        if not verdict.allowed:
            reasons[i] = verdict.reason.value if verdict.reason else "refused"
            continue
        stakes[i] = verdict.stake
        manager.on_order_opened(account.account_id, account.instrument, candidates.client_req_id[i])
        if account.duration_offered and book >= verdict.stake:
            book = round(book - verdict.stake, 8)
            status[i] = k.TRADED
            if np.isfinite(candidates.settle_ts[i]):
                heapq.heappush(pending, (float(candidates.settle_ts[i]), i))
            continue
        status[i] = k.ABORTED
        profits[i] = 0.0
        settled[i] = now
        book_result(i, Outcome.ABORT, 0.0)
    settle_until(float("inf"), inclusive=True)
    table = tuple(dict.fromkeys(["", *reasons]))
    lookup = {reason: code for code, reason in enumerate(table)}
    codes = np.array([lookup[reason] for reason in reasons], dtype=np.int64)
    return Simulated(status, stakes, codes, table, profits, settled)


def _settle(code: int, direction: Direction, stake: float, payout_pct: float) -> ContractResult:
    """The settlement rule itself on prices that give ``code``."""
    entry, exit_price = 1.0, 1.0
    if code == k.OUT_WIN:
        exit_price = 2.0 if direction is Direction.UP else 0.5
    elif code == k.OUT_LOSE:
        exit_price = 0.5 if direction is Direction.UP else 2.0
    return settle_contract(direction, stake, payout_pct, entry, exit_price)
