"""The weighted vote: documented formula, and the vectorised vote equals the scalar one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from moonlight.core.ensemble.ensemble import Ensemble
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.ensemble.vote import NO_VOTE, check_weights, vote, vote_history
from moonlight.core.strategy.api import Signal, SignalDirection, SignalSeries

UP, DOWN, NONE = SignalDirection.UP, SignalDirection.DOWN, SignalDirection.NONE


def test_score_confidence_and_direction_follow_the_formula() -> None:
    signals = [Signal(UP, 0.8), Signal(DOWN, 0.4), Signal(NONE, 0.0)]
    result = vote(signals, (2.0, 1.0, 1.0))
    net = 2.0 * 0.8 - 1.0 * 0.4
    assert result.score == pytest.approx(net / 4.0)  # abstainer's weight counts
    assert result.confidence == pytest.approx(net / (2.0 * 0.8 + 1.0 * 0.4))
    assert result.direction is UP


def test_unanimous_full_strength_vote_is_one_and_nobody_voting_is_none() -> None:
    assert vote([Signal(DOWN, 1.0)] * 3, (1.0, 1.0, 1.0)).score == -1.0
    assert vote([Signal(DOWN, 1.0)] * 3, (1.0, 1.0, 1.0)).confidence == 1.0
    assert vote([Signal(NONE, 0.0)] * 2, (1.0, 1.0)) == NO_VOTE
    assert vote([Signal(UP, 1.0), Signal(DOWN, 1.0)], (1.0, 1.0)).direction is NONE
    assert vote([Signal(UP, 1.0)], (0.0,)) == NO_VOTE  # zero weight: no say


def test_bad_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        check_weights([1.0, -0.5], 2)
    with pytest.raises(ValueError, match="2 weights for 3"):
        check_weights([1.0, 1.0], 3)


def _series(codes: list[int], strengths: list[float]) -> SignalSeries:
    direction = np.asarray(codes, np.int8)
    strength = np.where(direction == 0, 0.0, np.asarray(strengths, np.float64))
    return SignalSeries(direction, strength, np.zeros(len(codes), np.int16), ("",))


signal_columns = st.integers(min_value=1, max_value=40).flatmap(
    lambda bars: st.lists(
        st.tuples(
            st.lists(st.sampled_from([-1, 0, 1]), min_size=bars, max_size=bars),
            st.lists(st.floats(0.0, 1.0), min_size=bars, max_size=bars),
            st.floats(0.0, 5.0),
        ),
        min_size=1,
        max_size=6,
    )
)


@settings(max_examples=150, deadline=None)
@given(signal_columns)
def test_vote_history_is_bit_identical_to_vote(columns: list) -> None:
    series = [_series(codes, strengths) for codes, strengths, _ in columns]
    weights = [w for _, _, w in columns]
    history = vote_history(series, weights)
    for i in range(len(series[0])):
        expected = vote([s.signal_at(i) for s in series], weights)
        assert history.score[i] == expected.score
        assert history.confidence[i] == expected.confidence
        assert history.direction[i] == {UP: 1, DOWN: -1, NONE: 0}[expected.direction]


def test_ensemble_decision_uses_calibration_and_trade_direction() -> None:
    ensemble = Ensemble((1.0, 1.0))
    unfitted = ensemble.decide([Signal(DOWN, 1.0), Signal(DOWN, 0.5)])
    assert unfitted.direction is DOWN and not unfitted.calibrated
    assert unfitted.p_hat == 0.5
    ensemble.use_calibration(Calibration(a=-3.0, b=0.0, n_samples=500))
    decided = ensemble.decide([Signal(DOWN, 1.0), Signal(DOWN, 0.5)])
    assert decided.calibrated
    assert decided.p_up < 0.5 and decided.p_hat == pytest.approx(1.0 - decided.p_up)
    history = ensemble.decide_history([_series([-1], [1.0]), _series([-1], [0.5])])
    assert history.score[0] == decided.score
    assert history.p_hat[0] == pytest.approx(decided.p_hat, rel=1e-15)
