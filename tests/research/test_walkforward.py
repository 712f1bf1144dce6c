"""Walk-forward: the calibration of a split sees its training window only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.load import load_candles
from moonlight.core.plugins.host import PluginHost
from moonlight.core.research.setup import build_setup, make_spec
from moonlight.core.research.walkforward import (
    Split,
    fit_calibration,
    walk_forward,
    walk_forward_splits,
)
from tests.support.market_data import BTCUSDT, SHARED_DATA, real_candles


def test_split_shapes() -> None:
    assert walk_forward_splits(100, folds=4) == [
        Split(0, 20, 20, 40), Split(20, 40, 40, 60), Split(40, 60, 60, 80), Split(60, 80, 80, 100)
    ]  # fmt: skip
    anchored = walk_forward_splits(100, folds=2, anchored=True)
    assert [s.train_start for s in anchored] == [0, 0]
    sized = walk_forward_splits(100, train_bars=50, test_bars=20)
    assert sized == [Split(0, 50, 50, 70), Split(20, 70, 70, 90)]
    with pytest.raises(ValueError):
        walk_forward_splits(5, folds=4)


@pytest.fixture(scope="module")
def btc() -> CandleSeries:
    real_candles(BTCUSDT)
    return load_candles(SHARED_DATA / BTCUSDT).slice(0, 12_000)


def test_calibration_uses_only_the_training_window(btc: CandleSeries, host: PluginHost) -> None:
    spec = make_spec(["ema_rsi", "bollinger_reversion"], host=host)
    setup = build_setup(replace(spec, min_samples=50), host)
    split = walk_forward_splits(len(btc), folds=2)[0]
    train = btc.slice(split.train_start, split.train_stop)
    fitted = fit_calibration(train, setup)
    assert fitted.fitted and fitted.n_samples >= 50
    # scramble everything after the training window: the fit does not move
    scrambled = CandleSeries.from_arrays(
        "BTCUSDT",
        60,
        {**btc.columns(), "close": np.r_[btc.close[: split.train_stop],
                                         btc.close[split.train_stop:][::-1]]},
    )  # fmt: skip
    again = fit_calibration(scrambled.slice(split.train_start, split.train_stop), setup)
    assert (again.a, again.b) == (fitted.a, fitted.b)
    result = walk_forward(btc, setup, walk_forward_splits(len(btc), folds=2))
    assert len(result.folds) == 2
    assert result.folds[0].calibration.a == fitted.a
    assert result.summary["bars"] == sum(f.evaluation.summary["bars"] for f in result.folds)
    # every out-of-sample order lies in a test window
    first_test = btc.start_ts[split.test_start]
    assert (result.trades.decided_ts > first_test).all()
    assert len(result.trades) == sum(len(f.evaluation.trades) for f in result.folds)
