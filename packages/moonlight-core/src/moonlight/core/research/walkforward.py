"""Walk-forward evaluation: calibrate on a training window, trade the next one.

The history is cut into consecutive windows (:func:`walk_forward_splits`). For each
split the Platt calibration is fitted **only on the training window** -- the ensemble's
S at every decided bar against the outcome of a contract opened there, pushes and
contracts whose price at expiry lies beyond the window left out, so nothing from the
test window leaks into the fit -- and the strategies then trade the test window with
that calibration (:func:`~moonlight.core.research.evaluate.evaluate`, warmed up on the
bars just before it, as a worker started at the window's first bar would be). The
test windows' orders together are the out-of-sample result, with the edge verdict over
them (:mod:`moonlight.core.backtest.verdict`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from moonlight.core.backtest.summary import summarize
from moonlight.core.backtest.trades import TradeLog
from moonlight.core.backtest.verdict import edge_summary
from moonlight.core.data.candles import CandleSeries
from moonlight.core.decisions.store import DecisionOutcomes
from moonlight.core.ensemble.book import ScoredOutcomes, fit_one
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.research import kernels as k
from moonlight.core.research.evaluate import (
    Evaluation,
    decide_bars,
    evaluate,
    price_contracts,
    warmup_bars,
)
from moonlight.core.research.setup import ResearchSetup
from moonlight.core.timeframes import timeframe_seconds


@dataclass(frozen=True, slots=True)
class Split:
    """Bar ranges ``[train_start, train_stop)`` then ``[test_start, test_stop)``."""

    train_start: int
    train_stop: int
    test_start: int
    test_stop: int


def walk_forward_splits(
    bars: int,
    *,
    folds: int = 4,
    train_bars: int | None = None,
    test_bars: int | None = None,
    anchored: bool = False,
) -> list[Split]:
    """Consecutive train → test splits over ``bars`` bars.

    With only ``folds``: the history is cut into ``folds + 1`` equal blocks and split
    ``i`` trains on block ``i`` (or blocks ``0..i`` when ``anchored``) and tests on
    block ``i + 1``. With ``train_bars`` and ``test_bars``: windows of those sizes,
    moving forward by ``test_bars``, as many as fit.
    """
    if train_bars is None or test_bars is None:
        if folds < 1:
            raise ValueError("folds must be at least 1")
        block = bars // (folds + 1)
        if block < 2:
            raise ValueError(f"{bars} bars are too few for {folds} folds")
        return [
            Split(0 if anchored else i * block, (i + 1) * block, (i + 1) * block, (i + 2) * block)
            for i in range(folds)
        ]
    if train_bars < 1 or test_bars < 1:
        raise ValueError("train_bars and test_bars must be positive")
    splits = []
    start = 0
    while start + train_bars + test_bars <= bars:
        train_start = 0 if anchored else start
        splits.append(
            Split(
                train_start, start + train_bars, start + train_bars, start + train_bars + test_bars
            )
        )
        start += test_bars
    if not splits:
        raise ValueError(f"{bars} bars are too few for {train_bars} + {test_bars}")
    return splits


def fit_calibration(series: CandleSeries, setup: ResearchSetup) -> Calibration:
    """Platt (A, B) fitted on ``series`` alone; the setup's own calibration when the
    window has fewer than ``min_samples`` decided pairs."""
    decided = decide_bars(series, setup)
    rows = np.flatnonzero(decided.arrays.score != 0.0)
    contracts = price_contracts(decided, rows)
    settled = (contracts.code != k.OUT_OPEN) & (contracts.exit != contracts.entry)
    if np.count_nonzero(settled) < setup.spec.min_samples:
        return setup.calibration
    pairs = ScoredOutcomes.build(
        decided.arrays.score[rows][settled],
        (contracts.exit[settled] > contracts.entry[settled]).astype(np.int8),
        instrument=decided.instrument,
        timeframe=decided.timeframe,
    )
    return fit_one(
        pairs,
        regularisation=setup.spec.regularisation,
        instrument=decided.instrument,
        timeframe=decided.timeframe,
    )


@dataclass(frozen=True)
class FoldResult:
    """One split: the calibration fitted on its training window and the test run."""

    split: Split
    calibration: Calibration
    evaluation: Evaluation


@dataclass(frozen=True)
class WalkForwardResult:
    """Every fold, and the summary of all test windows' orders together."""

    folds: tuple[FoldResult, ...]
    trades: TradeLog
    summary: dict[str, Any]


def walk_forward(
    series: CandleSeries,
    setup: ResearchSetup,
    splits: Sequence[Split],
    *,
    calibrate: bool = True,
) -> WalkForwardResult:
    """Calibrate on each training window, evaluate on its test window; see the module doc.

    Split indices count bars of ``series``; a test window is evaluated from the
    worker's warm-up bars before it (they are features, never outcomes).
    """
    warmup = warmup_bars(setup) * _ratio(setup, series)
    folds: list[FoldResult] = []
    bars = 0
    wall_s = 0.0
    for split in splits:
        calibration = (
            fit_calibration(series.slice(split.train_start, split.train_stop), setup)
            if calibrate
            else setup.calibration
        )
        tested = setup.with_calibration(calibration)
        window = series.slice(max(0, split.test_start - warmup), split.test_stop)
        result = evaluate(window, tested)
        folds.append(FoldResult(split, calibration, result))
        bars += int(result.summary["bars"])
        wall_s += float(result.summary["wall_seconds"])
    trades = TradeLog.concat([fold.evaluation.trades for fold in folds])
    summary = summarize(
        trades, bars=bars, wall_s=wall_s, starting_balance=setup.spec.starting_balance
    )
    edge = edge_summary(
        trades,
        DecisionOutcomes.concat([fold.evaluation.decisions for fold in folds]),
        exploration=np.concatenate(
            [np.zeros(0, bool), *(fold.evaluation.exploration for fold in folds)]
        ),
    )
    summary.update({"verdict": edge["verdict"], "edge": edge})
    return WalkForwardResult(tuple(folds), trades, summary)


def _ratio(setup: ResearchSetup, series: CandleSeries) -> int:
    """Data bars per worker bar."""
    return max(1, timeframe_seconds(setup.spec.timeframe) // series.timeframe_s)
