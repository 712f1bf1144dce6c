"""Out-of-sample figures of a model's probabilities and the edge verdict.

For predictions ``p`` of "up at expiry" and labels ``y``:

* Brier, log loss and ECE (10 bins) on every scored bar, from the core's
  :mod:`moonlight.core.ensemble.reliability` (the same figures the ensemble reports);
* the **traded bars**: those where the model clears break-even at the payout in one
  direction (``p ≥ be`` buys up, ``p ≤ 1 - be`` buys down) -- what the learned strategy
  would vote on with no other strategy beside it;
* their win rate with a 95 % Wilson score interval, and the verdict: ``edge`` when the
  interval lies above break-even, ``negative edge`` when it lies below, ``no evidence of
  an edge`` otherwise (also when nothing was traded);
* the PnL of a unit stake per traded bar at the payout (a loss costs 1, a win pays
  ``payout_pct / 100``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from moonlight.core.backtest.verdict import verdict_of, wilson_interval
from moonlight.core.ensemble.reliability import reliability_report
from moonlight.core.risk.threshold import break_even
from moonlight.core.strategy.api import FloatArray

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Scores:
    """The out-of-sample figures of one set of predictions (see the module docstring)."""

    n: int
    base_rate: float
    brier: float
    log_loss: float
    ece: float
    trades: int
    wins: int
    win_rate: float
    win_low: float
    win_high: float
    break_even: float
    pnl_per_unit: float
    verdict: str

    def to_dict(self) -> dict[str, float | int | str | None]:
        """JSON-ready (strict JSON: an undefined win rate is None, not NaN)."""
        return {
            key: None if isinstance(value, float) and math.isnan(value) else value
            for key, value in asdict(self).items()
        }


def traded(p: FloatArray, payout_pct: float) -> tuple[BoolArray, BoolArray]:
    """Masks of the bars bought up and bought down at this payout's break-even."""
    be = break_even(payout_pct)
    up = p >= be
    return up, (p <= 1.0 - be) & ~up


def score(p: FloatArray, y: FloatArray, payout_pct: float) -> Scores:
    """Every figure of the module docstring for predictions ``p`` and labels ``y``."""
    report = reliability_report(p, y)
    up, down = traded(p, payout_pct)
    won = (up & (y == 1)) | (down & (y == 0))
    trades = int(np.count_nonzero(up | down))
    wins = int(np.count_nonzero(won))
    low, high = wilson_interval(wins, trades)
    be = break_even(payout_pct)
    return Scores(
        n=report.n_samples,
        base_rate=report.base_rate,
        brier=report.brier,
        log_loss=report.log_loss,
        ece=report.ece,
        trades=trades,
        wins=wins,
        win_rate=wins / trades if trades else math.nan,
        win_low=low,
        win_high=high,
        break_even=be,
        pnl_per_unit=wins * payout_pct / 100.0 - (trades - wins),
        verdict=verdict_of(low, high, be),
    )
