"""Many configurations tried, one answer: adjust for the number of tries (Holm 1979).

A sweep of 200 configurations on data without an edge finds a few that "beat
break-even" out of sample by luck: at a 5 % level, about 10 have an unadjusted edge
p-value below 0.05. Ranking by the raw metric puts those first. So every candidate gets

* ``edge_p`` -- the one-sided p-value of "its out-of-sample win rate exceeds the
  break-even win rate at its payouts" (:func:`moonlight.core.backtest.verdict.edge_p_value`);
* ``edge_p_holm`` -- Holm's step-down adjustment over all candidates that ran:
  sort the m p-values ascending, ``p_(i) · (m − i + 1)``, made monotone and capped at 1.
  It controls the family-wise error rate (the chance of *any* false "edge") at α
  without assuming the candidates independent (they are not: they share the data);
* ``significant`` -- ``edge_p_holm < alpha``.

:func:`chance_report` counts how many candidates would have been called profitable
without the adjustment (positive out-of-sample PnL, or raw ``edge_p < alpha``) and how
many survive it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.core.backtest.verdict import edge_p_value

ALPHA = 0.05


def holm(p_values: Sequence[float] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Holm-adjusted p-values, in the input order (NaN stays NaN and is not counted)."""
    p = np.asarray(p_values, np.float64)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = p[order] * (m - np.arange(m))
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted


def edge_p(wins: float, losses: float, breakeven: float) -> float:
    """The edge p-value of one candidate's out-of-sample trades (1.0 without a trade)."""
    if np.isnan(wins) or np.isnan(losses) or np.isnan(breakeven):
        return 1.0
    return edge_p_value(int(wins), int(wins + losses), float(breakeven))


def chance_report(table: Any, *, alpha: float = ALPHA) -> dict[str, int]:
    """Counts: candidates run, profitable / significant unadjusted, significant after Holm."""
    ran = table[~table["error"].astype(bool)]
    if ran.empty:
        names = ("profitable_unadjusted", "significant_unadjusted", "significant_after_holm")
        return {"candidates": 0, **dict.fromkeys(names, 0)}
    return {
        "candidates": len(ran),
        "profitable_unadjusted": int((ran["oos_pnl"] > 0).sum()),
        "significant_unadjusted": int((ran["edge_p"] < alpha).sum()),
        "significant_after_holm": int((ran["edge_p_holm"] < alpha).sum()),
    }
