"""Reliability figures against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from moonlight.core.ensemble.reliability import (
    brier_score,
    expected_calibration_error,
    log_loss,
    reliability_report,
    reliability_table,
)


def test_brier_and_log_loss_by_hand() -> None:
    p = [0.9, 0.2, 0.6]
    y = [1, 0, 0]
    assert brier_score(p, y) == pytest.approx((0.01 + 0.04 + 0.36) / 3)
    assert log_loss(p, y) == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3)
    assert math.isfinite(log_loss([0.0, 1.0], [1, 0]))  # clipped, not infinite


def test_ece_and_table_by_hand() -> None:
    p = [0.05, 0.15, 0.15, 0.95, 1.0]
    y = [0, 1, 0, 1, 1]
    table = reliability_table(p, y)
    assert [(row.lower, row.count) for row in table] == [(0.0, 1), (0.1, 2), (0.9, 2)]
    assert table[1].observed == 0.5 and table[1].mean_predicted == pytest.approx(0.15)
    expected = (1 * 0.05 + 2 * abs(0.15 - 0.5) + 2 * abs(0.975 - 1.0)) / 5
    assert expected_calibration_error(p, y) == pytest.approx(expected)


def test_report_bundles_the_figures_and_formats_a_table() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(int)
    report = reliability_report(p, y)
    assert report.n_samples == 1000
    assert report.ece == pytest.approx(expected_calibration_error(p, y))
    text = report.format()
    assert "Brier" in text and "[0.9, 1.0]" in text
    assert set(report.metrics()) == {"n_samples", "base_rate", "brier", "log_loss", "ece"}


@pytest.mark.parametrize(("p", "y"), [([], []), ([1.2], [1]), ([0.5], [0.5]), ([0.5], [1, 0])])
def test_bad_input_is_refused(p: list[float], y: list[float]) -> None:
    with pytest.raises(ValueError):
        brier_score(p, y)
