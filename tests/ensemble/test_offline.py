"""Calibration on a candle history: outcomes at expiry, split without leakage, weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from moonlight.core.ensemble.history import Candles, expiry_outcomes, split_index
from moonlight.core.ensemble.offline import calibrate_history
from moonlight.core.strategy.api import (
    NO_SIGNAL,
    BarLike,
    FloatArray,
    IndicatorArray,
    IndicatorNeed,
    IndicatorValue,
    Signal,
    Strategy,
    StrategyParams,
)
from moonlight.core.strategy.host import StrategyHost


class _Peek(Strategy[StrategyParams]):
    """Votes the next bar's move (``flip`` = -1 votes against it, 0 votes at random).

    It reads the future, which only the vectorised path can do -- good enough to check
    that learned weights and the fit recognise a strategy that is right or wrong.
    """

    params_model = StrategyParams
    reasons = ("", "peek")

    def __init__(self, name: str, flip: int, seed: int = 0) -> None:
        self.name = name
        self.flip = flip
        self.seed = seed
        super().__init__()

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        return ()

    @property
    def warmup_bars(self) -> int:
        return 0

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        return NO_SIGNAL

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> tuple[np.ndarray, FloatArray, np.ndarray]:
        close = prices["close"]
        move = np.sign(np.r_[close[1:] - close[:-1], 0.0]).astype(np.int8)
        if self.flip == 0:
            move = np.random.default_rng(self.seed).choice([-1, 1], close.size).astype(np.int8)
        else:
            move = move * self.flip
        return move, np.abs(move).astype(np.float64), np.abs(move).astype(np.int16)


def _candles(bars: int, seed: int = 1) -> Candles:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.1, bars))
    times = np.datetime64("2024-01-01T00:00:00", "s") + np.arange(bars) * np.timedelta64(60, "s")
    columns = {"open": close, "high": close, "low": close, "close": close, "volume": np.ones(bars)}
    return Candles(columns, times)


def test_expiry_outcomes_drop_pushes_gaps_and_the_tail() -> None:
    close = np.array([1.0, 2.0, 2.0, 1.0, 3.0, 4.0])
    times = np.array([0, 60, 120, 180, 600, 660], "datetime64[s]")  # gap after bar 3
    outcomes = expiry_outcomes(close, 1, times=times, timeframe_s=60)
    assert outcomes.decided.tolist() == [True, False, True, False, True, False]
    assert outcomes.up[outcomes.decided].tolist() == [1, 0, 1]
    two = expiry_outcomes(close, 2)
    assert two.decided.tolist() == [True, True, True, True, False, False]
    assert split_index(100, 0.3) == 70


def test_learned_weights_keep_the_right_strategy_and_drop_the_wrong_ones() -> None:
    candles = _candles(3000)
    hosts = [StrategyHost(_Peek(n, f)) for n, f in (("right", 1), ("wrong", -1), ("coin", 0))]
    result = calibrate_history(
        candles, hosts, [1.0, 1.0, 1.0], instrument="X", timeframe="1m", learned=True
    )
    assert result.weights[0] == 1.0 and result.weights[1] == 0.0
    assert result.weights[2] < 0.2
    assert result.ensemble.calibration.a < -3.0  # S predicts the move: steep curve
    assert result.ensemble.report is not None and result.ensemble.report.brier < 0.1
    wrong = next(e for e in result.strategies if e.label == "wrong")
    assert wrong.calibration.a > 3.0 and wrong.hit_rate == 0.0  # learned as inverted


def test_no_training_pair_settles_inside_the_hold_out() -> None:
    candles = _candles(1000)
    result = calibrate_history(
        candles,
        [StrategyHost(_Peek("coin", 0))],
        [1.0],
        instrument="X",
        timeframe="1m",
        expiry_bars=3,
        holdout=0.25,
    )
    split_time = candles.times[result.split_bar]
    train, test = result.ensemble.train_pairs, result.ensemble.test_pairs
    last_train = train.at.max().astype("datetime64[s]")
    assert last_train + np.timedelta64(3 * 60, "s") < split_time
    assert test.at.min().astype("datetime64[s]") >= split_time
    with pytest.raises(ValueError, match="no strategies"):
        calibrate_history(candles, [], [], instrument="X", timeframe="1m")
