"""The edge verdict: does the run show an edge over break-even, or not?

Computed from the trades that were *not* exploration trades (trades on an assumed
exploration prior are never evidence) and from every decision's shadow outcome:

* ``win_rate_ci95`` -- Wilson score interval (Wilson 1927) of the win rate of the decided
  trades, 95 %; compared with ``breakeven_win_rate`` at the payouts actually traded;
* ``p_value`` -- one-sided test of "win rate > break-even" (normal approximation to the
  binomial, the statistic the Wilson interval inverts); what sweeps adjust with Holm;
* ``expectancy`` and ``expectancy_ci95`` -- mean PnL per settled trade and its 95 %
  normal interval (mean ± 1.96·s/√n);
* ``decisions``, ``decisions_with_direction``, ``trades`` -- how many bars were decided
  on, how many had a direction, how many became orders;
* ``decision_brier``, ``decision_ece`` -- reliability of p̂ over *all* decisions with a
  direction whose shadow outcome was up or down (not only the traded ones, which are
  selected for a high p̂);
* ``verdict`` -- ``"edge"`` when the interval lies above break-even, ``"negative
  edge"`` when it lies below, ``"no evidence of an edge"`` otherwise (and with no trade).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.core.backtest.trades import WIN, TradeLog
from moonlight.core.decisions.store import DecisionOutcomes
from moonlight.core.ensemble.reliability import brier_score, expected_calibration_error

Z95 = 1.959963984540054
EDGE = "edge"
NO_EVIDENCE = "no evidence of an edge"
NEGATIVE = "negative edge"


def wilson_interval(wins: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (0, 1 with no trial)."""
    if n <= 0:
        return 0.0, 1.0
    p = wins / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def edge_p_value(wins: int, n: int, breakeven: float) -> float:
    """One-sided p-value of "the win rate exceeds ``breakeven``" (1.0 with no trial)."""
    if n <= 0 or not 0.0 < breakeven < 1.0:
        return 1.0
    z = (wins - n * breakeven) / math.sqrt(n * breakeven * (1.0 - breakeven))
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def verdict_of(low: float, high: float, breakeven: float | None) -> str:
    """The plain sentence for a win-rate interval against break-even."""
    if breakeven is None:
        return NO_EVIDENCE
    if low > breakeven:
        return EDGE
    if high < breakeven:
        return NEGATIVE
    return NO_EVIDENCE


def edge_summary(
    trades: TradeLog,
    decisions: DecisionOutcomes,
    *,
    exploration: npt.NDArray[np.bool_] | None = None,
) -> dict[str, Any]:
    """The verdict figures (see the module docstring); ``exploration`` marks the trades
    made on the exploration prior, left out."""
    counted = ~exploration if exploration is not None else np.ones(len(trades), bool)
    decided = trades.decided & counted
    settled = trades.settled & counted
    n = int(np.count_nonzero(decided))
    wins = int(np.count_nonzero(decided & (trades.outcome_code == WIN)))
    stake = trades.stake[decided]
    payout = trades.payout_pct[decided] / 100.0
    breakeven = float(np.sum(stake) / np.sum(stake * (1.0 + payout))) if n else None
    low, high = wilson_interval(wins, n)
    pnl = np.nan_to_num(trades.pnl[settled])
    m = pnl.size
    mean = float(pnl.mean()) if m else None
    half = Z95 * float(pnl.std(ddof=1)) / math.sqrt(m) if m > 1 else None
    scored = (decisions.direction != 0) & (decisions.moved != 0)
    p = decisions.p_hat[scored]
    won = (decisions.direction[scored] == decisions.moved[scored]).astype(np.float64)
    return {
        "verdict": verdict_of(low, high, breakeven) if n else NO_EVIDENCE,
        "trades_counted": n,
        "exploration_trades": int(np.count_nonzero(~counted)),
        "win_rate": wins / n if n else None,
        "win_rate_ci95": [low, high] if n else None,
        "breakeven_win_rate": breakeven,
        "p_value": edge_p_value(wins, n, breakeven) if breakeven is not None else 1.0,
        "expectancy": mean,
        "expectancy_ci95": [mean - half, mean + half]
        if mean is not None and half is not None
        else None,
        "decisions": int(decisions.p_hat.size),
        "decisions_with_direction": int(np.count_nonzero(decisions.direction != 0)),
        "decisions_scored": int(p.size),
        "decisions_traded": int(np.count_nonzero(decisions.traded)),
        "decision_brier": brier_score(p, won) if p.size else None,
        "decision_ece": expected_calibration_error(p, won) if p.size else None,
        "decision_mean_p_hat": float(p.mean()) if p.size else None,
        "decision_hit_rate": float(won.mean()) if p.size else None,
    }


def run_verdict(trades: TradeLog, decisions: DecisionOutcomes) -> dict[str, Any]:
    """``{"verdict": ..., "edge": {...}}`` for a summary: :func:`edge_summary` with the
    exploration trades recognised by their order id (a backtest prefixes ids with
    ``<run id>/``)."""
    ids = decisions.exploration_ids
    exploration = np.array(
        [i in ids or str(i).partition("/")[2] in ids for i in trades.client_req_id], dtype=bool
    )
    edge = edge_summary(trades, decisions, exploration=exploration)
    return {"verdict": edge["verdict"], "edge": edge}
