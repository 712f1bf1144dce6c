"""Ensemble weights: from the configuration, or learned from out-of-sample hit rates.

``ensemble.weighting: config`` uses ``strategies[].weight`` as written.

``ensemble.weighting: learned`` weighs each strategy by the edge it showed on data it
was not tuned on (the caller passes an out-of-sample window -- in a walk-forward, the
window before the one being traded):

1. hit rate with a Laplace prior: ``h = (wins + 1) / (signals + 2)``, counting only
   bars where the strategy gave a direction and the outcome was decided (no push);
2. edge ``e = max(0, 2·h - 1)``: 0 for a coin flip or worse, 1 for a perfect record;
3. shrinkage by evidence: ``w = e · n / (n + prior_signals)`` (``prior_signals`` = 100
   by default), so a strategy with a lucky handful of signals gets little weight;
4. scaled so the largest weight is 1 (the vote divides by the weight sum, so only
   ratios matter).

A strategy with no edge gets weight 0 and no longer moves S. When no strategy shows an
edge all weights are 0, S is always 0 and the ensemble does not trade -- the honest
result; :attr:`LearnedWeights.any_edge` tells the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.strategy.api import SignalSeries

DEFAULT_PRIOR_SIGNALS = 100.0


def config_weights(config: MoonlightConfig) -> dict[str, float]:
    """Weight per strategy name, as configured in ``strategies[].weight``."""
    return {strategy.name: strategy.weight for strategy in config.strategies}


@dataclass(frozen=True, slots=True)
class HitRate:
    """One strategy's record on decided bars where it gave a direction."""

    signals: int
    wins: int

    @property
    def laplace(self) -> float:
        """(wins + 1) / (signals + 2): the hit rate with a uniform prior."""
        return (self.wins + 1.0) / (self.signals + 2.0)


def hit_rate(
    signals: SignalSeries, up: npt.NDArray[np.int8], decided: npt.NDArray[np.bool_]
) -> HitRate:
    """Wins of ``signals`` against outcomes ``up`` (1/0) on the ``decided`` bars."""
    direction = signals.direction
    if not (direction.shape == up.shape == decided.shape):
        raise ValueError("signals, outcomes and decided mask must cover the same bars")
    voted = decided & (direction != 0)
    wins = voted & (((direction > 0) & (up == 1)) | ((direction < 0) & (up == 0)))
    return HitRate(signals=int(np.count_nonzero(voted)), wins=int(np.count_nonzero(wins)))


@dataclass(frozen=True, slots=True)
class LearnedWeights:
    """Weights learned from hit rates, with the records they came from."""

    weights: tuple[float, ...]
    records: tuple[HitRate, ...]

    @property
    def any_edge(self) -> bool:
        """True when at least one strategy has a positive weight."""
        return any(w > 0.0 for w in self.weights)


def learned_weights(
    records: Sequence[HitRate], *, prior_signals: float = DEFAULT_PRIOR_SIGNALS
) -> LearnedWeights:
    """Weights from each strategy's out-of-sample record (see the module docstring)."""
    if prior_signals <= 0:
        raise ValueError("prior_signals must be positive")
    raw = []
    for record in records:
        edge = max(0.0, 2.0 * record.laplace - 1.0)
        raw.append(edge * record.signals / (record.signals + prior_signals))
    top = max(raw, default=0.0)
    weights = tuple(w / top if top > 0.0 else 0.0 for w in raw)
    return LearnedWeights(weights=weights, records=tuple(records))
