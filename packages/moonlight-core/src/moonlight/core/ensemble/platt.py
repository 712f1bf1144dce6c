"""Platt calibration: the ensemble score S becomes a probability.

What is calibrated
    ``p_up = 1 / (1 + exp(A·S + B))`` -- the probability that the price at expiry is
    above the entry price, given S. Fitting the probability of *up* (not of "the vote
    wins") lets the fit correct a vote that is biased or even inverted. The probability
    that a proposed trade wins is ``p_up`` for an up trade and ``1 - p_up`` for a down
    trade (:meth:`Calibration.p_win`). Pushes (expiry price equal to entry) are left out
    of the fit, so p̂ is the win probability among decided contracts -- exactly what the
    break-even test ``p̂ > 1/(1+payout)`` needs (a push returns the stake).

How it is fitted
    Regularised maximum likelihood with Platt's target smoothing (Platt 1999; Newton
    method with backtracking line search after Lin, Lin & Weng 2007, "A note on Platt's
    probabilistic outputs for support vector machines"): targets are
    ``(N₊+1)/(N₊+2)`` for up and ``1/(N₋+2)`` for down instead of 1 and 0, which keeps
    A and B finite on separable data; an L2 penalty ``λ/2·(A²+B²)`` (``regularisation``
    in ``ensemble.calibration``) keeps the Hessian invertible when all S are equal.
    The loss is evaluated in the overflow-safe form and the fit stops when the gradient
    is below 1e-5 (or after 100 iterations).

Before any fit
    :data:`UNFITTED` is the conservative mapping: ``p_up = 0.5`` for every S, so
    ``p_win = 0.5`` -- no edge. Break-even ``1/(1+payout)`` is at least 0.5 for every
    payout up to 100 % of the stake (fixed-time brokers pay 60–95 %), so an unfitted
    p̂ can never exceed break-even, and with the risk margin (> 0 by default) it is
    strictly below it. Decisions also carry ``calibrated=False``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MAX_ITERATIONS = 100
MIN_STEP = 1e-10
GRADIENT_TOLERANCE = 1e-5
#: Added to the Hessian's diagonal (Lin, Lin & Weng's sigma) for numerical safety.
HESSIAN_RIDGE = 1e-12


class CalibrationError(ValueError):
    """The data cannot be fitted (no samples, wrong shapes, non-finite values)."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted (or the unfitted) mapping S → p_up, with where its data came from."""

    a: float
    b: float
    n_samples: int = 0
    fitted: bool = True
    instrument: str | None = None
    timeframe: str | None = None
    data_from: datetime | None = None
    data_to: datetime | None = None
    #: In-sample reliability of the fit (Brier, log loss, ECE, ...), stored with it.
    metrics: Mapping[str, float] = field(default_factory=dict)

    def p_up(self, score: float) -> float:
        """Probability that the price ends above the entry, given score S."""
        z = self.a * score + self.b
        if z >= 0.0:
            e = math.exp(-z)
            return e / (1.0 + e)
        return 1.0 / (1.0 + math.exp(z))

    def p_win(self, score: float, sign: int) -> float:
        """Probability that a trade in direction ``sign`` (+1 up, -1 down) wins."""
        p = self.p_up(score)
        if sign > 0:
            return p
        if sign < 0:
            return 1.0 - p
        return 0.0

    def p_up_array(self, scores: FloatArray) -> FloatArray:
        """:meth:`p_up` for an array of scores (numerically safe for any A·S + B)."""
        z = self.a * np.asarray(scores, np.float64) + self.b
        out: FloatArray = np.empty_like(z)
        positive = z >= 0.0
        e = np.exp(-z[positive])
        out[positive] = e / (1.0 + e)
        out[~positive] = 1.0 / (1.0 + np.exp(z[~positive]))
        return out


#: The conservative mapping used before any fit exists: no edge, p_up = 0.5 everywhere.
UNFITTED = Calibration(a=0.0, b=0.0, n_samples=0, fitted=False)


def fit_platt(
    scores: npt.ArrayLike, up: npt.ArrayLike, *, regularisation: float = 1e-3
) -> tuple[float, float]:
    """Fit (A, B) of ``p_up = 1/(1+exp(A·S+B))`` to scores and up/down outcomes.

    ``up`` is 1 (price ended above entry) or 0 (below); pushes must be removed first.
    Returns the regularised maximum-likelihood (A, B) under Platt's smoothed targets.
    """
    s = np.asarray(scores, np.float64).ravel()
    y = np.asarray(up).ravel()
    if s.shape != y.shape:
        raise CalibrationError(f"{s.size} scores but {y.size} outcomes")
    if s.size == 0:
        raise CalibrationError("no (score, outcome) pairs to fit")
    if not np.all(np.isfinite(s)):
        raise CalibrationError("scores must be finite")
    if not np.all((y == 0) | (y == 1)):
        raise CalibrationError("outcomes must be 0 (down) or 1 (up)")
    if regularisation < 0:
        raise CalibrationError("regularisation must be non-negative")
    positive = y == 1
    n_pos = int(np.count_nonzero(positive))
    n_neg = y.size - n_pos
    t = np.where(positive, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    a = 0.0
    b = math.log((n_neg + 1.0) / (n_pos + 1.0))
    loss = _loss(s, t, a, b, regularisation)
    for _ in range(MAX_ITERATIONS):
        p = _p_up(s, a, b)
        q = p * (1.0 - p)
        r = t - p  # d loss / dz for z = A·S + B
        g_a = float(np.dot(s, r)) + regularisation * a
        g_b = float(np.sum(r)) + regularisation * b
        if abs(g_a) < GRADIENT_TOLERANCE and abs(g_b) < GRADIENT_TOLERANCE:
            break
        h11 = float(np.dot(s * s, q)) + regularisation + HESSIAN_RIDGE
        h22 = float(np.sum(q)) + regularisation + HESSIAN_RIDGE
        h21 = float(np.dot(s, q))
        det = h11 * h22 - h21 * h21
        d_a = -(h22 * g_a - h21 * g_b) / det
        d_b = -(-h21 * g_a + h11 * g_b) / det
        slope = g_a * d_a + g_b * d_b
        step = 1.0
        while step >= MIN_STEP:
            new_a, new_b = a + step * d_a, b + step * d_b
            new_loss = _loss(s, t, new_a, new_b, regularisation)
            if new_loss < loss + 1e-4 * step * slope:
                a, b, loss = new_a, new_b, new_loss
                break
            step /= 2.0
        else:
            break  # no step decreases the loss: at the optimum within precision
    return a, b


def _p_up(s: FloatArray, a: float, b: float) -> FloatArray:
    z = a * s + b
    e = np.exp(-np.abs(z))
    return np.where(z >= 0.0, e / (1.0 + e), 1.0 / (1.0 + e))


def _loss(s: FloatArray, t: FloatArray, a: float, b: float, regularisation: float) -> float:
    """Negative log-likelihood under targets t, in the overflow-safe form, plus L2."""
    z = a * s + b
    # (t-1)·z + log(1+e^z), written so that exp never overflows
    nll = (t - 1.0) * z + np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    return float(np.sum(nll)) + 0.5 * regularisation * (a * a + b * b)
