"""The engine's walk-forward p̂, recomputed over a history (the research path).

:func:`walk_forward_p_up` takes the bars a worker decides on, in order, and does what
:class:`~moonlight.core.decisions.sink.DecisionSink` does for that worker in the engine:
at each decided bar it first resolves the shadows expiring on that bar (their outcomes
go to an :class:`~moonlight.core.ensemble.online.OnlineCalibrator` with the same
settings), then takes the calibration in force -- the walk-forward fit, else
``fallback`` (the exploration prior or the unfitted mapping) -- and opens the bar's own
shadow. So the research path's p̂ equals the backtest's decision for decision.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from moonlight.core.decisions.shadow import DOWN, UP, Shadow, ShadowLedger
from moonlight.core.ensemble.online import OnlineCalibrator
from moonlight.core.ensemble.platt import Calibration

FloatArray = npt.NDArray[np.float64]


class WalkForward(NamedTuple):
    """Per decided bar: p_up, whether a fit was in force; and how many refits happened."""

    p_up: FloatArray
    calibrated: npt.NDArray[np.bool_]
    refits: int


def walk_forward_p_up(
    score: FloatArray,
    end_ts: FloatArray,
    close: FloatArray,
    *,
    duration_s: float,
    instrument: str,
    timeframe: str,
    calibrator: OnlineCalibrator,
    fallback: Calibration,
) -> WalkForward:
    """p_up at every decided bar with only the outcomes known before it (see above)."""
    ledger = ShadowLedger()
    n = score.size
    p_up = np.empty(n, np.float64)
    calibrated = np.zeros(n, np.bool_)
    for i, (s, ts, price) in enumerate(
        zip(score.tolist(), end_ts.tolist(), close.tolist(), strict=True)
    ):
        for shadow in ledger.on_bar(ts, price):
            if shadow.outcome in (UP, DOWN):
                calibrator.add(
                    instrument,
                    timeframe,
                    shadow.expires_ts,
                    shadow.score,
                    int(shadow.outcome == UP),
                )
        fit = calibrator.lookup(instrument, timeframe)
        used = fit if fit.fitted else fallback
        p_up[i] = used.p_up(s)
        calibrated[i] = used.fitted
        ledger.open(Shadow(ts + duration_s, ts, s, price))
    return WalkForward(p_up, calibrated, calibrator.refits)


def shadow_moves(end_ts: FloatArray, close: FloatArray, duration_s: float) -> npt.NDArray[np.int8]:
    """Per decided bar, its shadow outcome as the engine resolves it: +1 up, -1 down,
    0 push or unknown (the bar ending at the expiry is not among the decided bars)."""
    expiry = end_ts + duration_s
    j = np.searchsorted(end_ts, expiry)
    found = j < end_ts.size
    found[found] &= end_ts[j[found]] == expiry[found]
    moved = np.zeros(end_ts.size, np.int8)
    moved[found] = np.sign(close[j[found]] - close[found]).astype(np.int8)
    return moved
