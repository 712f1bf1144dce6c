"""The learned strategy finds a planted nonlinear edge out of sample, and serves it."""

from __future__ import annotations

import numpy as np
import pytest

from moonlight.core.backtest.verdict import EDGE, wilson_interval
from moonlight.core.research import kernels
from moonlight.core.strategy.api import price_arrays
from moonlight.core.strategy.host import StrategyGroup
from moonlight.core.strategy.indicators import registry_indicator_source
from moonlight.strategies.ml.strategy import Learned, LearnedParams
from moonlight.strategies.ml.synthetic import P_EDGE

pytestmark = pytest.mark.slow


def test_the_generator_plants_the_documented_rates(planted, planted_frame) -> None:
    _, held = planted
    labels = planted_frame["label"].to_numpy()
    for rows, rate in ((held, P_EDGE), (~held, 0.5)):
        low, high = wilson_interval(int(np.nansum(labels[rows])), int(np.sum(rows)))
        assert low <= rate <= high


def test_walk_forward_finds_the_edge_out_of_sample(trained) -> None:
    result, _ = trained
    pooled = result.out_of_sample.pooled
    assert pooled.ece <= 0.02
    assert pooled.verdict == EDGE and pooled.pnl_per_unit > 0
    last = result.out_of_sample.folds[-1].scores  # the model trained on the most data
    low, high = wilson_interval(round(P_EDGE * last.trades), last.trades)
    assert low <= last.win_rate <= high, (last.win_rate, low, high)
    assert result.onnx_max_abs_diff <= 1e-6
    assert result.promoted


def _learned(registry) -> Learned:
    return Learned(LearnedParams(model="planted", registry_dir=registry, min_edge=0.0405))


def test_served_model_trades_the_edge_with_positive_pnl_on_fresh_candles(trained) -> None:
    """Fresh candles (another seed): the strategy's signals, priced by the core's
    settlement kernel at 85 % payout, win at the planted rate and make money."""
    from moonlight.strategies.ml.synthetic import planted_edge_candles

    _, registry = trained
    series, _ = planted_edge_candles(20_000, seed=7)
    signals = _learned(registry).evaluate_history(series.columns())
    traded = np.flatnonzero(signals.direction != 0)
    ends = np.ascontiguousarray(series.end_ts)
    _, _, code, _ = kernels.price_kernel(
        ends,
        np.ascontiguousarray(series.close),
        np.ascontiguousarray(ends[traded]),
        60.0,
        np.ascontiguousarray(signals.direction[traded]),
        float(ends[0]),
        1.0,
        float(ends[-1] + 60),
    )
    settled = code != kernels.OUT_OPEN
    wins = int(np.sum(code[settled] == kernels.OUT_WIN))
    trades = int(np.sum(settled))
    pnl = wins * 0.85 - (trades - wins)
    low, high = wilson_interval(wins, trades)
    assert trades > 100 and pnl > 0
    assert low <= P_EDGE <= high or wins / trades > P_EDGE - 0.05, (wins / trades, trades)


def test_streaming_signals_equal_the_vectorised_signals(trained) -> None:
    _, registry = trained
    from moonlight.strategies.ml.synthetic import planted_edge_candles

    series, _ = planted_edge_candles(1_500, seed=11)
    strategy = _learned(registry)
    history = strategy.evaluate_history(series.columns())
    group = StrategyGroup([_learned(registry)], registry_indicator_source())
    prices = price_arrays(series.columns())
    from moonlight.core.strategy.api import Bar

    for i in range(len(series)):
        bar = Bar(
            *(float(prices[c][i]) for c in ("open", "high", "low", "close", "volume")),
            start_ts=float(prices["start_ts"][i]),
        )
        (signal,) = group.on_bar(bar)
        assert signal == history.signal_at(i), i
