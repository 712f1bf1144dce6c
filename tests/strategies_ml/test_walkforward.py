"""Walk-forward splits never let a label or the embargo reach across the cut, and
shuffled labels leave no out-of-sample edge (the pipeline cannot see the future)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from moonlight.core.backtest.verdict import NO_EVIDENCE
from moonlight.strategies.ml.dataset import feature_matrix
from moonlight.strategies.ml.learners import HistGradientBoosting, Learner, TorchLearner
from moonlight.strategies.ml.walkforward import splits, walk_forward

from .conftest import PLANTED_SPEC, needs_torch


@settings(max_examples=50, deadline=None)
@given(
    rows=st.integers(10, 3000),
    folds=st.integers(1, 8),
    expiry=st.sampled_from([60.0, 300.0, 900.0]),
    extra=st.floats(0, 3600),
    gaps=st.integers(0, 2**31),
)
def test_splits_are_purged_embargoed_and_in_order(
    rows: int, folds: int, expiry: float, extra: float, gaps: int
) -> None:
    rng = np.random.default_rng(gaps)
    ts = np.cumsum(60.0 * rng.integers(1, 5, rows)).astype(float)
    embargo = expiry + extra
    previous_test_end = -1
    for split in splits(ts, folds=folds, expiry_s=expiry, embargo_s=embargo):
        test_start = ts[split.test[0]]
        assert split.test[0] > previous_test_end
        previous_test_end = split.test[-1]
        if split.train.size:
            assert np.all(ts[split.train] + expiry < test_start - embargo)
            assert split.train.max() < split.test.min()


def test_an_embargo_shorter_than_the_expiry_is_refused() -> None:
    with pytest.raises(ValueError, match="shorter than the expiry"):
        list(splits(np.arange(10.0), folds=2, expiry_s=60, embargo_s=30))


@pytest.mark.slow
@pytest.mark.parametrize(
    "learner",
    [HistGradientBoosting(), pytest.param(TorchLearner(), marks=needs_torch)],
    ids=lambda learner: learner.name,
)
def test_shuffled_labels_leave_no_evidence_of_an_edge(planted_frame, learner: Learner) -> None:
    x, y = feature_matrix(planted_frame, PLANTED_SPEC)
    ts = planted_frame["ts"].to_numpy()[
        np.all(np.isfinite(planted_frame[PLANTED_SPEC.column_names()].to_numpy()), axis=1)
        & np.isfinite(planted_frame["label"].to_numpy())
    ]
    shuffled = np.random.default_rng(5).permutation(y)
    oos = walk_forward(
        ts, x, shuffled, learner, folds=4, expiry_s=60, embargo_s=60,
        payout_pct=85,
    )  # fmt: skip
    assert oos.pooled.verdict == NO_EVIDENCE, oos.pooled
