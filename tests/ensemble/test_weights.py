"""Learned weights follow the documented formula."""

from __future__ import annotations

import numpy as np
import pytest

from moonlight.core.config.models import MoonlightConfig, StrategyConfig
from moonlight.core.ensemble.weights import (
    HitRate,
    config_weights,
    hit_rate,
    learned_weights,
)
from moonlight.core.strategy.api import SignalSeries


def test_hit_rate_counts_only_decided_bars_with_a_direction() -> None:
    direction = np.array([1, -1, 1, 0, -1, 1], np.int8)
    series = SignalSeries(direction, np.abs(direction).astype(float), np.zeros(6, np.int16), ("",))
    up = np.array([1, 0, 0, 1, 1, 1], np.int8)
    decided = np.array([True, True, True, True, True, False])
    assert hit_rate(series, up, decided) == HitRate(signals=4, wins=2)


def test_learned_weights_formula() -> None:
    records = [HitRate(1000, 560), HitRate(1000, 480), HitRate(10, 9)]
    learned = learned_weights(records, prior_signals=100)
    edge0 = (2 * 561 / 1002 - 1) * 1000 / 1100
    edge2 = (2 * 10 / 12 - 1) * 10 / 110
    assert learned.weights[0] == 1.0
    assert learned.weights[1] == 0.0  # worse than a coin: no say
    assert learned.weights[2] == pytest.approx(edge2 / edge0)
    assert learned.any_edge


def test_no_edge_anywhere_means_no_weight() -> None:
    learned = learned_weights([HitRate(500, 240), HitRate(0, 0)])
    assert learned.weights == (0.0, 0.0) and not learned.any_edge


def test_config_weights() -> None:
    config = MoonlightConfig(
        strategies=[StrategyConfig(name="a", weight=2.0), StrategyConfig(name="b")]
    )
    assert config_weights(config) == {"a": 2.0, "b": 1.0}
