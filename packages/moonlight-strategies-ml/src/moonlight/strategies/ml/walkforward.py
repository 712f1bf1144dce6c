"""Walk-forward splits with purging and an embargo, and the out-of-sample pass over them.

The dataset's rows are decision instants ``ts`` (ascending) whose labels are known at
``ts + expiry_s``. The history is cut into ``folds + 1`` consecutive blocks of equal row
count; fold ``k`` tests on block ``k + 1`` and trains on everything before it
(expanding window) **except**:

* **purged** rows -- a training row whose label interval ``[ts, ts + expiry_s]`` reaches
  into the test block would let the test prices into training;
* **embargoed** rows -- the ``embargo_s`` before the test block (at least one expiry)
  are dropped too, so features built from overlapping windows (a 28-bar RSI on both
  sides of the cut) and serially correlated labels do not leak across it.

Every fold's model is fitted only on its training rows and scored only on its test
rows; the pooled out-of-sample predictions are what :mod:`.evaluation` judges.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.core.strategy.api import FloatArray
from moonlight.strategies.ml.evaluation import Scores, score
from moonlight.strategies.ml.learners import Learner

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Split:
    """Row indexes of one fold: what it trains on and what it tests on."""

    train: IntArray
    test: IntArray


def splits(ts: FloatArray, *, folds: int, expiry_s: float, embargo_s: float) -> Iterator[Split]:
    """The walk-forward splits of rows at instants ``ts`` (see the module docstring)."""
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    if embargo_s < expiry_s:
        raise ValueError(f"embargo {embargo_s} s is shorter than the expiry {expiry_s} s")
    if np.any(np.diff(ts) < 0):
        raise ValueError("rows must be in time order")
    bounds = np.linspace(0, ts.shape[0], folds + 2).astype(np.int64)
    for k in range(folds):
        start, stop = int(bounds[k + 1]), int(bounds[k + 2])
        if start >= stop:
            continue
        cutoff = ts[start] - embargo_s  # label end and embargo both before the test
        candidates = np.arange(start, dtype=np.int64)
        keep = ts[:start] + expiry_s < cutoff
        yield Split(candidates[keep], np.arange(start, stop, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class Fold:
    """One fold's ranges and out-of-sample scores."""

    index: int
    train_rows: int
    train_from_ts: float
    train_to_ts: float
    test_from_ts: float
    test_to_ts: float
    scores: Scores

    def to_dict(self) -> dict[str, Any]:
        return {
            "fold": self.index,
            "train_rows": self.train_rows,
            "train_from_ts": self.train_from_ts,
            "train_to_ts": self.train_to_ts,
            "test_from_ts": self.test_from_ts,
            "test_to_ts": self.test_to_ts,
            **self.scores.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class OutOfSample:
    """Every fold, and the pooled predictions and labels of all test rows."""

    folds: tuple[Fold, ...]
    test_index: IntArray
    p: FloatArray
    y: FloatArray
    pooled: Scores


def walk_forward(
    ts: FloatArray,
    x: FloatArray,
    y: FloatArray,
    learner: Learner,
    *,
    folds: int,
    expiry_s: float,
    embargo_s: float,
    payout_pct: float,
    min_train_rows: int = 500,
) -> OutOfSample:
    """Fit and score every fold; rows are usable ones (features and label defined)."""
    found: list[Fold] = []
    indexes: list[IntArray] = []
    predictions: list[FloatArray] = []
    for k, split in enumerate(splits(ts, folds=folds, expiry_s=expiry_s, embargo_s=embargo_s)):
        if split.train.shape[0] < min_train_rows:
            continue
        model = learner.fit(x[split.train], y[split.train])
        p = learner.predict(model, x[split.test])
        found.append(
            Fold(
                index=k,
                train_rows=int(split.train.shape[0]),
                train_from_ts=float(ts[split.train[0]]),
                train_to_ts=float(ts[split.train[-1]]),
                test_from_ts=float(ts[split.test[0]]),
                test_to_ts=float(ts[split.test[-1]]),
                scores=score(p, y[split.test], payout_pct),
            )
        )
        indexes.append(split.test)
        predictions.append(p)
    if not found:
        raise ValueError(
            f"no fold had {min_train_rows} training rows: {ts.shape[0]} usable rows are too few"
        )
    index = np.concatenate(indexes)
    pooled_p = np.concatenate(predictions)
    return OutOfSample(
        tuple(found), index, pooled_p, y[index], score(pooled_p, y[index], payout_pct)
    )
