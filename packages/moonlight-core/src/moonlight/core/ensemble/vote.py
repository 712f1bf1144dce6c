"""The weighted vote: strategies' signals → score S ∈ [-1, 1], confidence, direction.

With weights ``w_i ≥ 0``, directions ``d_i ∈ {+1, -1, 0}`` and strengths ``s_i ∈ [0, 1]``:

* ``S = Σ w_i·d_i·s_i / Σ w_i`` over all strategies with a positive weight. A strategy
  that gives no signal counts as a 0 vote: abstentions pull S towards 0, so S is large
  only when most of the weight agrees strongly.
* ``direction`` is up when S > 0, down when S < 0, none when S = 0.
* ``confidence = |Σ w_i·d_i·s_i| / Σ w_i·s_i`` over the strategies that voted: 1 when
  every vote points the same way, 0 when they cancel out or nobody voted. It measures
  agreement, S measures agreement *and* strength *and* participation.

:func:`vote` (one bar) and :func:`vote_history` (arrays over a history) add the terms in
the same order with the same operations, so a backtest's S equals the live S bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from moonlight.core.strategy.api import (
    DOWN,
    NONE,
    UP,
    Signal,
    SignalDirection,
    SignalSeries,
)

FloatArray = npt.NDArray[np.float64]


class Vote(NamedTuple):
    """The outcome of one weighted vote."""

    score: float
    confidence: float
    direction: SignalDirection


NO_VOTE = Vote(0.0, 0.0, NONE)


def check_weights(weights: Sequence[float], count: int) -> tuple[float, ...]:
    """``weights`` as a tuple of finite non-negative floats, one per strategy."""
    if len(weights) != count:
        raise ValueError(f"{len(weights)} weights for {count} strategies")
    checked = tuple(float(w) for w in weights)
    for w in checked:
        if not (w >= 0.0 and np.isfinite(w)):
            raise ValueError(f"weights must be finite and non-negative, got {w!r}")
    return checked


def vote(signals: Sequence[Signal], weights: Sequence[float]) -> Vote:
    """Weighted vote of one bar's signals (``weights`` already checked, same order).

    The signals are as the host returns them: directions are ``SignalDirection`` members
    (compared by identity on this hot path).
    """
    total = 0.0
    net = 0.0
    voted = 0.0
    for signal, weight in zip(signals, weights, strict=True):
        if weight <= 0.0:
            continue
        total += weight
        direction = signal.direction
        if direction is not NONE:
            ws = weight * signal.strength
            net += ws if direction is UP else -ws
            voted += ws
    if total <= 0.0 or voted <= 0.0:
        return NO_VOTE
    score = net / total
    direction = UP if score > 0.0 else DOWN if score < 0.0 else NONE
    return Vote(score, abs(net) / voted, direction)


class VoteSeries(NamedTuple):
    """The vote at every bar of a history (arrays, one entry per bar)."""

    score: FloatArray
    confidence: FloatArray
    direction: npt.NDArray[np.int8]


def vote_history(series: Sequence[SignalSeries], weights: Sequence[float]) -> VoteSeries:
    """:func:`vote` at every bar of a history, vectorised, bit-identical to :func:`vote`."""
    if not series:
        raise ValueError("vote_history needs at least one strategy's signals")
    bars = len(series[0])
    total = 0.0
    net = np.zeros(bars)
    voted = np.zeros(bars)
    for signals, weight in zip(series, weights, strict=True):
        if len(signals) != bars:
            raise ValueError("every strategy's signals must cover the same bars")
        if weight <= 0.0:
            continue
        total += weight
        d = signals.direction.astype(np.float64)
        ws = weight * signals.strength
        active = d != 0.0
        net = np.where(active, net + d * ws, net)
        voted = np.where(active, voted + ws, voted)
    ok = (voted > 0.0) & (total > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(ok, net / total if total > 0.0 else 0.0, 0.0)
        confidence = np.where(ok, np.abs(net) / voted, 0.0)
    direction = np.sign(score).astype(np.int8)
    return VoteSeries(score, confidence, direction)
