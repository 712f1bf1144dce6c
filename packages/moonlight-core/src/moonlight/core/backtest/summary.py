"""The figures of a run (``summary.json``), computed the same way for both paths.

Definitions (money in the account currency; a "decided" trade is a win or a loss):

* ``trades`` -- orders sent; ``wins``, ``losses``, ``pushes``, ``aborts`` and ``open``
  (not settled when the history ended) add up to it;
* ``win_rate`` -- wins / decided trades;
* ``breakeven_win_rate`` -- the win rate at which the decided trades would net zero at
  the payouts they were traded at: ``Σ stake / Σ stake·(1 + payout)``, which is
  ``1/(1+payout)`` for a single payout;
* ``pnl`` -- net profit of the settled trades; ``expectancy_per_trade`` -- pnl per
  settled trade (pushes and aborts included); ``roi`` -- pnl / total stake settled;
  ``return_on_balance`` -- pnl / starting balance;
* ``max_drawdown`` -- the largest fall of the equity curve (starting balance plus the
  pnl of trades in settlement order) from its running peak, in money and as a fraction
  of that peak (``max_drawdown_pct``);
* ``brier``, ``ece`` -- reliability of p̂ (the probability that the trade wins) against
  the decided trades' outcomes (:mod:`moonlight.core.ensemble.reliability`); null with no
  decided trade;
* ``bars`` -- bars the workers decided on (warm-up excluded); ``bars_per_second`` --
  bars / wall seconds of the simulation (loading and reporting excluded); the event-driven
  backtest adds ``cpu_seconds`` and ``bars_per_cpu_second`` (the process's CPU time, the
  per-core figure on a machine shared with other work).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from moonlight.core.backtest.trades import OUTCOMES, WIN, TradeLog
from moonlight.core.ensemble.reliability import (
    brier_score,
    expected_calibration_error,
    log_loss,
)


def equity_curve(trades: TradeLog, starting_balance: float) -> tuple[np.ndarray, np.ndarray]:
    """Settlement times and the balance after each settled trade (settlement order)."""
    settled = trades.settled
    times = trades.settled_ts[settled]
    pnl = np.nan_to_num(trades.pnl[settled])
    if times.size > 1 and not np.all(times[1:] >= times[:-1]):
        order = np.argsort(times, kind="stable")
        times, pnl = times[order], pnl[order]
    return times, starting_balance + np.cumsum(pnl)


def drawdown(equity: np.ndarray, starting_balance: float) -> tuple[np.ndarray, np.ndarray]:
    """Drawdown in money and as a fraction of the running peak, per equity point."""
    peaks = np.maximum.accumulate(np.r_[starting_balance, equity])[1:]
    money = peaks - equity
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(peaks > 0, money / peaks, 0.0)
    return money, fraction


def summarize(
    trades: TradeLog,
    *,
    bars: int,
    wall_s: float,
    starting_balance: float,
) -> dict[str, Any]:
    """The summary dict (see the module docstring for every figure)."""
    counts = np.bincount(trades.outcome_code, minlength=len(OUTCOMES))
    wins, losses, pushes, aborts, still_open = (int(counts[i]) for i in range(len(OUTCOMES)))
    decided = trades.decided
    settled = trades.settled
    pnl = float(np.round(np.nansum(trades.pnl[settled]), 8))
    staked = float(np.sum(trades.stake[settled]))
    stake_d = trades.stake[decided]
    payout_d = trades.payout_pct[decided] / 100.0
    _, equity = equity_curve(trades, starting_balance)
    money, fraction = drawdown(equity, starting_balance)
    p = trades.p_hat[decided]
    won = (trades.outcome_code[decided] == WIN).astype(np.float64)
    scored = decided.any() and bool(np.all(np.isfinite(p)))
    settled_count = int(np.count_nonzero(settled))
    return {
        "bars": int(bars),
        "trades": len(trades),
        "wins": wins,
        "losses": losses,
        "pushes": pushes,
        "aborts": aborts,
        "open": still_open,
        "win_rate": wins / (wins + losses) if wins + losses else None,
        "breakeven_win_rate": (
            float(np.sum(stake_d) / np.sum(stake_d * (1.0 + payout_d))) if stake_d.size else None
        ),
        "avg_payout_pct": float(np.mean(trades.payout_pct[decided])) if decided.any() else None,
        "expectancy_per_trade": pnl / settled_count if settled_count else None,
        "pnl": pnl,
        "staked": staked,
        "roi": pnl / staked if staked else None,
        "starting_balance": starting_balance,
        "final_balance": float(equity[-1]) if equity.size else starting_balance,
        "return_on_balance": pnl / starting_balance if starting_balance else None,
        "max_drawdown": float(money.max()) if money.size else 0.0,
        "max_drawdown_pct": float(fraction.max()) if fraction.size else 0.0,
        "brier": brier_score(p, won) if scored else None,
        "log_loss": log_loss(p, won) if scored else None,
        "ece": expected_calibration_error(p, won) if scored else None,
        "mean_p_hat": float(np.mean(p)) if scored else None,
        "wall_seconds": wall_s,
        "bars_per_second": bars / wall_s if wall_s > 0 else None,
    }
