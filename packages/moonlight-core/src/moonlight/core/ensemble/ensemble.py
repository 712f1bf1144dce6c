"""The ensemble of one worker: weighted vote, then calibrated probability.

``Ensemble.decide(signals)`` returns the vote (S, confidence, direction) and

* ``p_up`` -- Platt's probability that the price ends above entry, given S;
* ``p_hat`` -- the probability that a trade in the vote's direction wins (``p_up`` for
  up, ``1 - p_up`` for down, 0 when there is no direction): the number the risk
  threshold compares with break-even ``1/(1+payout)`` and that is stored as the
  order's p̂;
* ``calibrated`` -- False while the conservative unfitted mapping is in force.

The worker takes its calibration from a
:class:`~moonlight.core.ensemble.book.CalibrationBook` by (instrument, timeframe) and
may swap it with :meth:`Ensemble.use_calibration` after a refit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from moonlight.core.ensemble.platt import UNFITTED, Calibration
from moonlight.core.ensemble.vote import check_weights, vote, vote_history
from moonlight.core.strategy.api import DOWN, UP, Signal, SignalDirection, SignalSeries

FloatArray = npt.NDArray[np.float64]


class EnsembleDecision(NamedTuple):
    """What the ensemble concluded on one bar."""

    score: float
    confidence: float
    direction: SignalDirection
    p_up: float
    p_hat: float
    calibrated: bool


class EnsembleHistory(NamedTuple):
    """The ensemble's conclusions at every bar of a history."""

    score: FloatArray
    confidence: FloatArray
    direction: npt.NDArray[np.int8]
    p_up: FloatArray
    p_hat: FloatArray


class Ensemble:
    """Weighted vote plus Platt calibration, for one (instrument, timeframe)."""

    def __init__(self, weights: Sequence[float], calibration: Calibration = UNFITTED) -> None:
        self.weights = check_weights(weights, len(weights))
        self.calibration = calibration

    def use_calibration(self, calibration: Calibration) -> None:
        """Switch to a new fit (after ``moonlight calibrate`` or a scheduled refit)."""
        self.calibration = calibration

    def decide(self, signals: Sequence[Signal]) -> EnsembleDecision:
        """Vote and calibrate one bar's signals (one per strategy, in weight order)."""
        score, confidence, direction = vote(signals, self.weights)
        calibration = self.calibration
        p_up = calibration.p_up(score)
        p_hat = p_up if direction is UP else 1.0 - p_up if direction is DOWN else 0.0
        return EnsembleDecision(score, confidence, direction, p_up, p_hat, calibration.fitted)

    def decide_history(self, series: Sequence[SignalSeries]) -> EnsembleHistory:
        """:meth:`decide` at every bar of a history (same S bit for bit; p̂ to ~1 ulp)."""
        score, confidence, direction = vote_history(series, self.weights)
        p_up = self.calibration.p_up_array(score)
        p_hat = np.where(direction > 0, p_up, np.where(direction < 0, 1.0 - p_up, 0.0))
        return EnsembleHistory(score, confidence, direction, p_up, p_hat)
