"""Reliability of every reference strategy and the ensemble on the real minute candles.

This is the honest report the issue asks for: each strategy's signal (and the equal-
weight vote of all of them) is calibrated with Platt on the first 70 % of each file and
scored on the last 30 % (1-bar expiry). The figures are printed (run with ``-s``) and
checked only for being produced and sane -- they are what they are, not tuned.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from moonlight.core.ensemble.history import Candles
from moonlight.core.ensemble.offline import calibrate_history
from moonlight.core.strategy.api import price_arrays
from moonlight.core.strategy.host import StrategyHost
from moonlight.strategies.basic._base import library_source
from moonlight.strategies.basic.plugin import STRATEGIES
from tests.support.market_data import BTCUSDT, EURUSD, real_candles


@pytest.mark.parametrize("name", [EURUSD, BTCUSDT], ids=["EURUSD", "BTCUSDT"])
def test_reliability_report_per_strategy(name: str) -> None:
    frame = real_candles(name)
    candles = Candles(price_arrays(frame), frame.index.to_numpy(dtype="datetime64[s]"))
    hosts = [StrategyHost(cls()) for cls in STRATEGIES]
    result = calibrate_history(
        candles,
        hosts,
        [1.0] * len(hosts),
        instrument=name.split("_")[0],
        timeframe="1m",
        source=library_source(),
        expiry_bars=1,
        holdout=0.3,
    )
    assert all(host.errors == 0 for host in hosts)
    print(f"\n{result.instrument}: {result.bars} bars, hold-out from bar {result.split_bar}")
    print(
        f"  {'score':<22} {'train':>7} {'test':>7} {'hit':>6} {'Brier':>8} {'logloss':>8}"
        f" {'ECE':>7} {'A':>8} {'B':>8}"
    )
    produced = 0
    for evaluation in (result.ensemble, *result.strategies):
        report = evaluation.report
        if report is None:
            print(f"  {evaluation.label:<22} no signals in the hold-out window")
            continue
        produced += 1
        cal = evaluation.calibration
        print(
            f"  {evaluation.label:<22} {len(evaluation.train_pairs):>7}"
            f" {len(evaluation.test_pairs):>7} {evaluation.hit_rate:>6.3f}"
            f" {report.brier:>8.5f} {report.log_loss:>8.5f} {report.ece:>7.4f}"
            f" {cal.a:>8.4f} {cal.b:>8.4f}"
        )
        assert all(math.isfinite(v) for v in (report.brier, report.log_loss, report.ece))
        assert 0.0 <= report.ece <= 1.0 and 0.0 < report.brier < 1.0
        assert sum(row.count for row in report.table) == len(evaluation.test_pairs)
        # out of sample, p̂ must not be grossly miscalibrated: within 0.1 of a coin's Brier
        assert report.brier < 0.35
    assert produced >= len(STRATEGIES) - 1  # vwap_rvol is silent without volume (EURUSD)
    volume = np.asarray(frame["volume"])
    if not volume.any():
        silent = next(e for e in result.strategies if e.label == "vwap_rvol")
        assert len(silent.train_pairs) == 0 and not silent.calibration.fitted
