"""The ``learned`` strategy: a trained model's P(up at expiry) as a vote.

Rule (bar just closed): with ``p`` the promoted model's probability of "up at expiry"
for this bar's features,

* **up** when ``p ≥ 0.5 + min_edge``, **down** when ``p ≤ 0.5 - min_edge``;
* strength ``min(1, |p - 0.5| / full_edge)``.

Serving is batched: every worker of a model due at one instant is scored in ONE
onnxruntime run (:meth:`Learned.evaluate_many`, called once per model by
:func:`moonlight.core.strategy.batch.evaluate_grouped`, which the synchronous decision
step uses). ``evaluate`` is the same code with one item -- what the engine calls while it
still evaluates worker by worker -- and gives the same probability (a row's score never
depends on the rows scored with it, see :meth:`~.serving.OnnxScorer.predict`).

The vote enters the ensemble like any strategy's and is Platt-calibrated with the rest;
the model's own probability is not trusted as p̂. Features come from the worker's
streaming indicators (the strategy declares them as indicator needs) through
:class:`~.features.FeatureStream`; the vectorised path computes the same features in
batch and scores the whole history in one onnxruntime call. Both paths apply only
IEEE-exact operations to the model output, so they agree bar for bar (parity test).

The model is read from the registry (``registry_dir``, default ``data/models``, the
``models`` folder of the default data directory) by name; a model whose feature spec
does not match the one it was trained with is refused at start.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from pydantic import Field

from moonlight.core.strategy.api import (
    DOWN,
    NO_SIGNAL,
    UP,
    BarLike,
    FloatArray,
    IndicatorArray,
    IndicatorNeed,
    IndicatorValue,
    Signal,
    Strategy,
    StrategyItem,
    StrategyParams,
)
from moonlight.strategies.ml.features import FeatureStream, batch_features, complete_rows
from moonlight.strategies.ml.serving import ModelServer, OnnxModel, shared_server

UP_REASON = "model: up at expiry more likely"
DOWN_REASON = "model: down at expiry more likely"


class LearnedParams(StrategyParams):
    """Parameters of :class:`Learned`."""

    model: str = Field(min_length=1, max_length=64, description="Model name in the registry.")
    registry_dir: Path = Field(
        default=Path("data/models"), description="Model registry directory (beside the data)."
    )
    min_edge: float = Field(
        default=0.0, ge=0, lt=0.5, description="Smallest |p - 0.5| that gives a vote."
    )
    full_edge: float = Field(
        default=0.1, gt=0, le=0.5, description="|p - 0.5| at which the vote has strength 1."
    )


class Learned(Strategy[LearnedParams]):
    """Vote with a trained model's probability (see the module docstring)."""

    name = "learned"
    summary = "A trained model's probability of up at expiry (ONNX, served by onnxruntime)"
    params_model = LearnedParams
    reasons = ("", UP_REASON, DOWN_REASON)

    def __init__(self, params: LearnedParams | None = None) -> None:
        if params is None:
            raise ValueError("the learned strategy needs params.model (a registry name)")
        self.server: ModelServer = shared_server(params.registry_dir, params.model)
        self.spec = self.server.model.spec
        self.features = FeatureStream(self.spec)
        self._warmup = self.spec.warmup_bars()
        super().__init__(params)

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        return self.spec.needs()

    @property
    def warmup_bars(self) -> int:
        """The features' look-back: indicator warm-up plus the longest lag."""
        return self._warmup

    def reset(self) -> None:
        self.features.reset()

    def _signal(self, p: float) -> Signal:
        edge = p - 0.5
        if edge >= self.params.min_edge and edge > 0.0:
            return Signal(UP, min(1.0, edge / self.params.full_edge), UP_REASON)
        if -edge >= self.params.min_edge and edge < 0.0:
            return Signal(DOWN, min(1.0, -edge / self.params.full_edge), DOWN_REASON)
        return NO_SIGNAL

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        return self.evaluate_many([(self, bar, indicators)])[0]

    def batch_key(self) -> Hashable:
        """Workers serving the same model (one shared server) share one inference call."""
        return self.server

    @classmethod
    def evaluate_many(cls, items: Sequence[StrategyItem]) -> list[Signal]:
        """Signals for many workers at one instant with one onnxruntime run per model.

        Each item's feature stream advances once, in item order; a row not yet complete
        (warm-up, a missing value) gives no signal and is not scored. Rows are grouped by
        the model their server serves at the bar's instant -- one group unless a
        promotion lands between two instants in the same call -- and each group is
        scored in one ``predict``. Every worker applies its own ``min_edge`` and
        ``full_edge`` to its probability.
        """
        if not items:
            return []
        signals = [NO_SIGNAL] * len(items)
        learned: list[Learned] = []
        rows: list[list[float]] = []
        bars: list[BarLike] = []
        for strategy, bar, values in items:
            learned.append(cast(Learned, strategy))
            rows.append(learned[-1].features.row(bar.close, values))
            bars.append(bar)
        matrix = np.array(rows)
        complete = np.isfinite(matrix).all(axis=1).tolist()
        pending: dict[OnnxModel, list[int]] = {}
        for index, (strategy, bar) in enumerate(zip(learned, bars, strict=True)):
            if complete[index]:
                model = strategy.server.at_instant(float(getattr(bar, "start_ts", math.nan)))
                pending.setdefault(model, []).append(index)
        for model, indices in pending.items():
            batch = matrix if len(indices) == len(items) else matrix[indices]
            for index, p in zip(indices, model.predict(batch).tolist(), strict=True):
                signals[index] = learned[index]._signal(p)
        return signals

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> tuple[npt.NDArray[np.integer[Any]], FloatArray, npt.NDArray[np.integer[Any]]]:
        matrix = batch_features(self.spec, prices, indicators=indicators)
        usable = complete_rows(matrix)
        bars = matrix.shape[0]
        direction = np.zeros(bars, np.int8)
        strength = np.zeros(bars)
        codes = np.zeros(bars, np.int16)
        if not usable.any():
            return direction, strength, codes
        p = np.full(bars, 0.5)
        p[usable] = self.server.model.predict(np.ascontiguousarray(matrix[usable]))
        for i in np.flatnonzero(usable):
            signal = self._signal(float(p[i]))
            direction[i] = 1 if signal.direction is UP else -1 if signal.direction is DOWN else 0
            strength[i] = signal.strength
            codes[i] = self.reasons.index(signal.reason)
        return direction, strength, codes
