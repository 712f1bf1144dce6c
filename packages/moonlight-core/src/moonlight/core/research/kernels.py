"""The research path's loops: p̂, money rounding and the sequential risk simulation.

Each kernel reproduces, operation for operation, what the live code computes:

* :func:`p_hat_kernel` -- :meth:`moonlight.core.ensemble.platt.Calibration.p_up` and
  :meth:`~moonlight.core.ensemble.ensemble.Ensemble.decide` (``math.exp`` of the C
  library, the same branches), so p̂ is bit-identical to the engine's;
* :func:`round_money` -- CPython's ``round(x, 8)`` (correctly rounded, half-even on the
  exact binary value), which settlement, the paper book and the daily loss cap apply to
  money; an error-free product (Dekker) gives the exact ``x·10⁸``;
* :func:`simulate_kernel` -- the account's sequence of decisions and settlements in
  time order, with the built-in guards and sizing policies, the stake clamp, the paper
  book and the trader's balance (see :mod:`moonlight.core.research.risk_sim`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from moonlight.core.research._jit import jit

FloatArray = npt.NDArray[np.float64]

# outcome codes of a contract at expiry
OUT_WIN = 1
OUT_LOSE = 2
OUT_PUSH = 3
OUT_OPEN = 4

# what happened to a candidate decision
REFUSED = 0
TRADED = 1
ABORTED = 2

# guard kinds (the built-ins the kernel knows), in the order configured
G_PASS = 0  # kill_switch and circuit_breaker: never block in a replay
G_MAX_OPEN = 1
G_CONSECUTIVE = 2
G_DAILY = 3

# sizing kinds
S_FIXED = 0
S_FRACTION = 1
S_KELLY = 2

# refusal reasons (indexes into risk_sim.REASONS)
R_NONE = 0
R_MAX_OPEN_ACCOUNT = 1
R_MAX_OPEN_INSTRUMENT = 2
R_CONSECUTIVE = 3
R_DAILY = 4
R_STAKE_ZERO = 5
R_STAKE_BELOW_MIN = 6

_SPLITTER = 134217729.0  # 2**27 + 1
_MONEY_LIMIT = 2.0**53 / 1e8


@jit
def p_hat_kernel(
    score: FloatArray, direction: npt.NDArray[np.int8], a: float, b: float
) -> tuple[FloatArray, FloatArray]:
    """(p_up, p̂) per bar, as ``Calibration.p_up`` and ``Ensemble.decide`` compute them."""
    n = score.shape[0]
    p_up = np.empty(n)
    p_hat = np.empty(n)
    for i in range(n):
        z = a * score[i] + b
        if z >= 0.0:
            e = math.exp(-z)
            p = e / (1.0 + e)
        else:
            p = 1.0 / (1.0 + math.exp(z))
        p_up[i] = p
        d = direction[i]
        p_hat[i] = p if d > 0 else (1.0 - p if d < 0 else 0.0)
    return p_up, p_hat


@jit
def _split(a: float) -> tuple[float, float]:
    c = _SPLITTER * a
    high = c - (c - a)
    return high, a - high


@jit
def round_money(x: float) -> float:
    """``round(x, 8)`` exactly as CPython computes it (for ``|x| < 2**53 / 1e8``)."""
    if not (abs(x) < _MONEY_LIMIT):
        return x  # not finite, or beyond money sizes: CPython would keep x here too
    y = x * 1e8
    x_hi, x_lo = _split(x)
    s_hi, s_lo = _split(1e8)
    error = ((x_hi * s_hi - y) + x_hi * s_lo + x_lo * s_hi) + x_lo * s_lo
    r = np.rint(y)  # the nearest integer to y, ties to even
    d = y - r  # exact; |d| <= 0.5, and the exact x*1e8 is r + d + error
    if d == 0.5 and error > 0.0:  # y was a tie but the exact value lies above it
        r += 1.0
    elif d == -0.5 and error < 0.0:
        r -= 1.0
    if r == 0.0:
        return math.copysign(0.0, x)
    return float(r) / 1e8


@jit
def contract_pnl(outcome: int, stake: float, payout_pct: float) -> tuple[float, float]:
    """(profit, credit back to the book) of a settled contract (settlement's rule)."""
    if outcome == OUT_WIN:
        profit = round_money(stake * payout_pct / 100.0)
        return profit, round_money(stake + profit)
    if outcome == OUT_LOSE:
        return round_money(-stake), 0.0
    return 0.0, round_money(stake)  # push


@jit
def price_kernel(
    ends: FloatArray,
    closes: FloatArray,
    decide_ts: FloatArray,
    duration_s: float,
    direction: npt.NDArray[np.int8],
    start_ts: float,
    poll_interval_s: float,
    last_close_ts: float,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int8], FloatArray]:
    """Entry, exit, outcome code and booking instant of contracts decided at
    ``decide_ts`` (ascending), on the bar-close price path (see
    :mod:`moonlight.core.backtest.feed`): entry = close in force at the decision, exit =
    close in force at expiry (the entry when no bar closed in between), open when the
    expiry is at or after ``last_close_ts`` (the earliest close after the data); booked
    at the first ``poll_interval_s`` step from ``start_ts`` at or after expiry."""
    n = decide_ts.shape[0]
    m = ends.shape[0]
    entry = np.empty(n)
    exit_price = np.empty(n)
    code = np.empty(n, np.int8)
    settle = np.empty(n)
    at = 0  # bars ended at or before the decision
    until = 0  # bars ended at or before the expiry
    for i in range(n):
        decided = decide_ts[i]
        expires = decided + duration_s
        while at < m and ends[at] <= decided:
            at += 1
        if until < at:
            until = at
        while until < m and ends[until] <= expires:
            until += 1
        if at == 0:  # decided before the first close: that close is the first price
            price = closes[0]
            out = closes[until - 1] if until > 0 else price
        else:
            price = closes[at - 1]
            out = closes[until - 1] if ends[until - 1] > decided else price
        entry[i] = price
        exit_price[i] = out
        if not expires < last_close_ts:
            code[i] = OUT_OPEN
            settle[i] = np.nan
            continue
        if out == price:
            code[i] = OUT_PUSH
        elif (direction[i] > 0 and out > price) or (direction[i] < 0 and out < price):
            code[i] = OUT_WIN
        else:
            code[i] = OUT_LOSE
        steps = math.ceil((expires - start_ts) / poll_interval_s)
        settle[i] = start_ts + (steps if steps > 1.0 else 1.0) * poll_interval_s
    return entry, exit_price, code, settle


@jit
def simulate_kernel(
    decide_ts: FloatArray,
    p_hat: FloatArray,
    outcome: npt.NDArray[np.int8],
    settle_ts: FloatArray,
    payout_pct: float,
    stake_min: float,
    stake_max: float,
    account_max_stake: float,
    duration_offered: bool,
    starting_balance: float,
    sizing_kind: int,
    sizing_a: float,
    sizing_b: float,
    guards: npt.NDArray[np.int64],
    max_open_account: int,
    max_open_instrument: int,
    max_losses: int,
    cool_down_s: float,
    daily_cap_amount: float,
    daily_cap_pct: float,
    day_ends: FloatArray,
) -> tuple[npt.NDArray[np.int8], FloatArray, npt.NDArray[np.int64], FloatArray, FloatArray]:
    """One account's decisions and settlements in time order.

    Inputs are the candidate decisions (those that passed permit and threshold), in
    time order: decision instant, p̂, the contract's outcome if traded and the instant
    its settlement reaches the engine (NaN while open at the end). ``max_open_*``,
    ``max_losses`` use -1 for "off"; ``daily_cap_amount``/``daily_cap_pct`` NaN for
    "not this one". Returns per candidate: what happened (refused, traded, aborted),
    the stake, the refusal reason, the profit and the settlement instant.
    """
    n = decide_ts.shape[0]
    status = np.zeros(n, np.int8)
    stakes = np.zeros(n)
    reasons = np.zeros(n, np.int64)
    profits = np.full(n, np.nan)
    settled = np.full(n, np.nan)
    queue = np.empty(n, np.int64)  # traded candidates awaiting settlement, FIFO
    head = 0
    tail = 0
    balance = starting_balance  # the trader's balance
    book = starting_balance  # the paper book's balance
    open_orders = 0
    streak = 0
    blocked_until = -np.inf
    day = 0  # index of the guard's current trading day (day_ends[0]: the start's day)
    day_state = False  # the daily guard has a record for the account today
    day_pnl = 0.0
    day_start = np.nan
    day_tripped = False
    for i in range(n):
        now = decide_ts[i]
        # -- settlements that reached the engine before this decision ----------------
        while head < tail and settle_ts[queue[head]] < now:
            k = queue[head]
            head += 1
            at = settle_ts[k]
            profit, credit = contract_pnl(outcome[k], stakes[k], payout_pct)
            book = round_money(book + credit)
            balance += profit
            profits[k] = profit
            settled[k] = at
            code = outcome[k]
            for g in range(guards.shape[0]):
                kind = guards[g]
                if kind == G_CONSECUTIVE:
                    if code == OUT_WIN:
                        streak = 0
                    elif code == OUT_LOSE:
                        streak += 1
                        if streak >= max_losses:
                            streak = 0
                            blocked_until = at + cool_down_s
                elif kind == G_DAILY:
                    if at >= day_ends[day]:
                        while day < day_ends.shape[0] - 1 and day_ends[day] <= at:
                            day += 1
                        day_state = False
                    if not day_state:
                        day_state = True
                        day_pnl = 0.0
                        day_start = np.nan
                        day_tripped = False
                    if np.isnan(day_start):
                        day_start = balance - profit - day_pnl
                    day_pnl = round_money(day_pnl + profit)
                    cap = daily_cap_amount
                    if np.isnan(cap):
                        cap = day_start * daily_cap_pct / 100.0
                    if not day_tripped and -day_pnl >= cap:
                        day_tripped = True
            open_orders -= 1
        # -- guards, in the configured order ------------------------------------------
        reason = R_NONE
        for g in range(guards.shape[0]):
            kind = guards[g]
            if kind == G_MAX_OPEN:
                if max_open_account >= 0 and open_orders >= max_open_account:
                    reason = R_MAX_OPEN_ACCOUNT
                elif max_open_instrument >= 0 and open_orders >= max_open_instrument:
                    reason = R_MAX_OPEN_INSTRUMENT
            elif kind == G_CONSECUTIVE:
                if now < blocked_until:
                    reason = R_CONSECUTIVE
            elif kind == G_DAILY:
                if now >= day_ends[day]:
                    while day < day_ends.shape[0] - 1 and day_ends[day] <= now:
                        day += 1
                    day_state = False
                if not day_state:
                    day_state = True
                    day_pnl = 0.0
                    day_start = balance
                    day_tripped = False
                else:
                    if not day_tripped and np.isnan(day_start):
                        day_start = balance - day_pnl
                        cap = daily_cap_amount
                        if np.isnan(cap):
                            cap = day_start * daily_cap_pct / 100.0
                        if -day_pnl >= cap:
                            day_tripped = True
                    if day_tripped:
                        reason = R_DAILY
            if reason != R_NONE:
                break
        if reason != R_NONE:
            reasons[i] = reason
            continue
        # -- sizing and the stake clamp -------------------------------------------------
        if sizing_kind == S_FIXED:
            proposed = sizing_a
        elif sizing_kind == S_FRACTION:
            proposed = balance * sizing_a if balance > 0.0 else 0.0
        else:
            proposed = 0.0
            b = payout_pct / 100.0
            p = p_hat[i]
            if balance > 0.0 and b > 0.0 and p > 1.0 / (1.0 + b):
                f = (p * b - (1.0 - p)) / b
                if f > 0.0:
                    share = sizing_a * f
                    proposed = balance * (share if share < sizing_b else sizing_b)
        if not proposed > 0.0:
            reasons[i] = R_STAKE_ZERO
            continue
        stake = proposed
        if account_max_stake < stake:
            stake = account_max_stake
        if stake_max < stake:
            stake = stake_max
        if balance < stake:
            stake = balance
        if not stake > 0.0:
            reasons[i] = R_STAKE_ZERO
            continue
        if stake < stake_min:
            reasons[i] = R_STAKE_BELOW_MIN
            continue
        stakes[i] = stake
        open_orders += 1
        # -- the paper broker ---------------------------------------------------------
        if duration_offered and book >= stake:
            book = round_money(book - stake)
            status[i] = TRADED
            if not np.isnan(settle_ts[i]):
                queue[tail] = i
                tail += 1
            continue
        # refused by the broker: the order fails at once, as an abort with no money moved
        status[i] = ABORTED
        profits[i] = 0.0
        settled[i] = now
        for g in range(guards.shape[0]):
            if guards[g] == G_DAILY:
                if now >= day_ends[day]:
                    while day < day_ends.shape[0] - 1 and day_ends[day] <= now:
                        day += 1
                    day_state = False
                if not day_state:
                    day_state = True
                    day_pnl = 0.0
                    day_start = np.nan
                    day_tripped = False
                if np.isnan(day_start):
                    day_start = balance - day_pnl
                day_pnl = round_money(day_pnl + 0.0)
                cap = daily_cap_amount
                if np.isnan(cap):
                    cap = day_start * daily_cap_pct / 100.0
                if not day_tripped and -day_pnl >= cap:
                    day_tripped = True
        open_orders -= 1
    # settlements after the last decision (before the history ends)
    while head < tail:
        k = queue[head]
        head += 1
        profit, credit = contract_pnl(outcome[k], stakes[k], payout_pct)
        balance += profit
        profits[k] = profit
        settled[k] = settle_ts[k]
    return status, stakes, reasons, profits, settled
