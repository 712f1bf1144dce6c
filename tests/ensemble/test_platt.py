"""Platt calibration: the fit recovers a known curve, and its p̂ is honest."""

from __future__ import annotations

import math

import numpy as np
import pytest

from moonlight.core.ensemble.platt import UNFITTED, Calibration, CalibrationError, fit_platt
from moonlight.core.ensemble.reliability import brier_score, expected_calibration_error

TRUE_A, TRUE_B = -2.5, 0.15


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores spread like an ensemble's, outcomes drawn from a known logistic curve."""
    rng = np.random.default_rng(seed)
    scores = np.clip(rng.normal(0.0, 0.45, n), -1.0, 1.0)
    p_true = 1.0 / (1.0 + np.exp(TRUE_A * scores + TRUE_B))
    up = (rng.random(n) < p_true).astype(np.int8)
    return scores, up, p_true


def test_fit_recovers_known_curve_with_low_ece_and_true_brier() -> None:
    train_s, train_y, _ = _synthetic(40_000, seed=1)
    test_s, test_y, test_p_true = _synthetic(40_000, seed=2)
    a, b = fit_platt(train_s, train_y)
    assert a == pytest.approx(TRUE_A, abs=0.1)
    assert b == pytest.approx(TRUE_B, abs=0.05)
    fitted = Calibration(a=a, b=b, n_samples=train_s.size).p_up_array(test_s)
    assert expected_calibration_error(fitted, test_y) < 0.02
    brier_fit = brier_score(fitted, test_y)
    brier_true = brier_score(test_p_true, test_y)
    assert abs(brier_fit - brier_true) <= 0.01 * brier_true


def test_miscalibrated_mapping_is_caught_by_ece() -> None:
    """The ECE check has teeth: a curve twice as steep as the truth fails it."""
    scores, up, _ = _synthetic(40_000, seed=3)
    wrong = Calibration(a=2 * TRUE_A, b=TRUE_B).p_up_array(scores)
    assert expected_calibration_error(wrong, up) > 0.02


def test_inverted_vote_is_learned_as_positive_a() -> None:
    scores, up, _ = _synthetic(20_000, seed=4)
    a, _ = fit_platt(-scores, up)
    assert a > 2.0  # p_up falls as S rises: the calibration corrects the sign


def test_separable_data_stays_finite_thanks_to_target_smoothing() -> None:
    scores = np.linspace(-1, 1, 200)
    up = (scores > 0).astype(np.int8)
    a, b = fit_platt(scores, up, regularisation=0.0)
    assert math.isfinite(a) and math.isfinite(b)
    assert abs(a) < 50  # without smoothing the likelihood would push |A| to infinity
    cal = Calibration(a=a, b=b)
    assert cal.p_up(1.0) > 0.95 and cal.p_up(-1.0) < 0.05


def test_constant_scores_fit_the_base_rate() -> None:
    scores = np.full(1000, 0.3)
    up = np.r_[np.ones(600), np.zeros(400)].astype(np.int8)
    a, b = fit_platt(scores, up)
    assert Calibration(a=a, b=b).p_up(0.3) == pytest.approx(601 / 1002, abs=2e-3)


def test_p_up_is_overflow_safe_and_array_matches_scalar() -> None:
    cal = Calibration(a=-800.0, b=0.0)
    scores = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    assert cal.p_up(1.0) == 1.0 and cal.p_up(-1.0) == 0.0
    np.testing.assert_allclose(cal.p_up_array(scores), [cal.p_up(s) for s in scores], rtol=1e-15)


def test_unfitted_mapping_never_exceeds_break_even() -> None:
    for score in np.linspace(-1, 1, 41):
        for sign in (-1, 1):
            p_win = UNFITTED.p_win(float(score), sign)
            for payout in (0.6, 0.8, 0.92, 1.0):
                assert p_win <= 1.0 / (1.0 + payout)
    assert not UNFITTED.fitted


def test_p_win_follows_the_traded_direction() -> None:
    cal = Calibration(a=-2.0, b=0.0)
    assert cal.p_win(0.5, 1) == pytest.approx(cal.p_up(0.5))
    assert cal.p_win(0.5, -1) == pytest.approx(1 - cal.p_up(0.5))
    assert cal.p_win(0.5, 0) == 0.0


@pytest.mark.parametrize(
    ("scores", "up"),
    [([], []), ([0.1, 0.2], [1]), ([np.nan], [1]), ([0.1], [2])],
)
def test_bad_input_is_refused(scores: list[float], up: list[int]) -> None:
    with pytest.raises(CalibrationError):
        fit_platt(scores, up)
