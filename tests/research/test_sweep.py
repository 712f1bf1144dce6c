"""Sweeps: candidates, out-of-sample ranking, local processes, Ray when installed."""

from __future__ import annotations

import importlib.util
import math
import sys

import pandas as pd
import pytest

from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.load import load_candles
from moonlight.core.plugins.host import PluginHost
from moonlight.core.research.parallel import RayUnavailable, run_tasks
from moonlight.core.research.setup import make_spec
from moonlight.core.research.sweep import candidates, sweep
from tests.support.market_data import BTCUSDT, SHARED_DATA, real_candles

RAY = importlib.util.find_spec("ray") is not None


def test_grid_and_random_candidates() -> None:
    space = {"a": [1, 2, 3], "b": ["x", "y"]}
    grid = candidates(space)
    assert len(grid) == 6 and {"a": 3, "b": "y"} in grid
    sample = candidates(space, search="random", samples=4, seed=3)
    assert len(sample) == 4 and len({tuple(c.items()) for c in sample}) == 4
    assert sample == candidates(space, search="random", samples=4, seed=3)
    assert all(c in grid for c in sample)
    assert len(candidates(space, search="random", samples=100)) == 6
    with pytest.raises(ValueError):
        candidates(space, search="bayes")


def square(payload: int, item: int) -> int:
    return payload + item * item


def test_local_processes_return_results_in_order() -> None:
    assert run_tasks(square, 10, [1, 2, 3, 4], workers=2) == [11, 14, 19, 26]
    assert run_tasks(square, 0, [5], workers=4) == [25]


@pytest.fixture(scope="module")
def btc() -> CandleSeries:
    real_candles(BTCUSDT)
    return load_candles(SHARED_DATA / BTCUSDT).slice(0, 9000)


def test_sweep_ranks_candidates_out_of_sample(btc: CandleSeries, host: PluginHost) -> None:
    base = make_spec(["ema_rsi", "bollinger_reversion"], calibration=(-2.5, 0.0), host=host,
                     risk={"threshold": 0.5, "margin": 0.0})  # fmt: skip
    space = {
        "ema_rsi.fast_period": [5, 9],
        "weights": [(1.0, 1.0), (2.0, 0.5)],
        "expiry": ["1m", "3m"],
        "ema_rsi.slow_period": [3],  # fast >= slow for every candidate: invalid
    }
    space_ok = {k: v for k, v in space.items() if k != "ema_rsi.slow_period"}
    table = sweep(
        btc, base, space_ok, folds=2, calibrate=False, metric="pnl", workers=1, adjusted=False
    )
    assert isinstance(table, pd.DataFrame) and len(table) == 8
    assert list(table["rank"]) == list(range(1, 9))
    pnl = table["pnl"].tolist()
    assert pnl == sorted(pnl, reverse=True)
    assert (table["error"] == "").all() and (table["oos_trades"] > 0).all()
    assert {"fold0_pnl", "fold1_pnl", "oos_win_rate"} <= set(table.columns)
    broken = sweep(btc, base, space, folds=2, calibrate=False, workers=1)
    assert (broken["error"] != "").all() and broken["expectancy_per_trade"].isna().all()
    assert "fast_period must be shorter" in broken["error"][0]


@pytest.mark.slow
def test_processes_and_one_process_agree(btc: CandleSeries, host: PluginHost) -> None:
    base = make_spec(["ema_rsi"], calibration=(-2.5, 0.0), host=host,
                     risk={"threshold": 0.5, "margin": 0.0})  # fmt: skip
    space = {"ema_rsi.rsi_period": [7, 14], "risk.threshold": [0.5, 0.6]}
    local = sweep(btc.slice(0, 5000), base, space, folds=2, calibrate=False, workers=1)
    spread = sweep(btc.slice(0, 5000), base, space, folds=2, calibrate=False, workers=2)
    pd.testing.assert_frame_equal(local, spread)
    assert not math.isnan(local["expectancy_per_trade"][0])


@pytest.mark.skipif(
    not RAY, reason="ray not installed (CI installs it: the dev group has moonlight-core[ray])"
)
def test_ray_gives_the_same_table(btc: CandleSeries, host: PluginHost) -> None:
    base = make_spec(["ema_rsi"], calibration=(-2.5, 0.0), host=host,
                     risk={"threshold": 0.5, "margin": 0.0})  # fmt: skip
    space = {"ema_rsi.rsi_period": [7, 14]}
    local = sweep(btc.slice(0, 4000), base, space, folds=2, calibrate=False, workers=1)
    remote = sweep(btc.slice(0, 4000), base, space, folds=2, calibrate=False, ray_address="local")
    pd.testing.assert_frame_equal(local, remote)


def test_without_ray_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # an import of ray now fails, installed or not
    with pytest.raises(RayUnavailable, match=r"moonlight-core\[ray\]"):
        run_tasks(square, 0, [1, 2], ray_address="auto")
