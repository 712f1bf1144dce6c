"""Fit and judge the calibration on a candle history, out of sample.

The history is split in time: the first ``1 - holdout`` of the bars is the training
window, the rest the hold-out window. On the training window the ensemble's weights are
learned (when ``learned``) and Platt's (A, B) fitted on the decided bars with S ≠ 0;
on the hold-out window the fitted p̂ is scored (Brier, log loss, ECE, table). Training
pairs whose contract would settle inside the hold-out window are dropped, so nothing
from the hold-out window leaks into the fit.

The same is done for each strategy alone (its vote ``direction × strength`` as S), which
is the per-strategy reliability report: how honest a probability each strategy's
signal can become.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from moonlight.core.ensemble.book import ScoredOutcomes, fit_one
from moonlight.core.ensemble.history import (
    Candles,
    ExpiryOutcomes,
    Times,
    expiry_outcomes,
    scored_outcomes,
    split_index,
)
from moonlight.core.ensemble.platt import UNFITTED, Calibration
from moonlight.core.ensemble.reliability import ReliabilityReport, reliability_report
from moonlight.core.ensemble.vote import check_weights, vote_history
from moonlight.core.ensemble.weights import hit_rate, learned_weights
from moonlight.core.strategy.api import FloatArray, SignalSeries
from moonlight.core.strategy.host import StrategyHost
from moonlight.core.strategy.indicators import IndicatorSource
from moonlight.core.timeframes import timeframe_seconds


@dataclass(frozen=True, slots=True)
class FitEvaluation:
    """One score's calibration: the fit on the training window, its hold-out report."""

    label: str
    calibration: Calibration
    train_pairs: ScoredOutcomes
    test_pairs: ScoredOutcomes
    report: ReliabilityReport | None
    hit_rate: float | None

    def summary(self) -> dict[str, object]:
        """JSON-ready figures."""
        return {
            "label": self.label,
            "fitted": self.calibration.fitted,
            "a": self.calibration.a,
            "b": self.calibration.b,
            "train_pairs": len(self.train_pairs),
            "test_pairs": len(self.test_pairs),
            "test_hit_rate": self.hit_rate,
            "test": self.report.to_dict() if self.report is not None else None,
        }


@dataclass(frozen=True, slots=True)
class HistoryCalibration:
    """The ensemble's and each strategy's out-of-sample calibration on one history."""

    instrument: str
    timeframe: str
    bars: int
    split_bar: int
    weights: tuple[float, ...]
    ensemble: FitEvaluation
    strategies: tuple[FitEvaluation, ...]


@dataclass(frozen=True, slots=True)
class _Split:
    """What every evaluation on one history shares."""

    instrument: str
    timeframe: str
    times: Times
    outcomes: ExpiryOutcomes
    train: npt.NDArray[np.bool_]
    test: npt.NDArray[np.bool_]
    min_samples: int
    regularisation: float

    def pairs(self, score: FloatArray, mask: npt.NDArray[np.bool_]) -> ScoredOutcomes:
        return scored_outcomes(
            score,
            self.outcomes,
            instrument=self.instrument,
            timeframe=self.timeframe,
            times=self.times,
            mask=mask,
        )

    def evaluate(self, label: str, score: FloatArray) -> FitEvaluation:
        train_pairs = self.pairs(score, self.train)
        test_pairs = self.pairs(score, self.test)
        calibration = UNFITTED
        if len(train_pairs) >= self.min_samples:
            calibration = fit_one(
                train_pairs,
                regularisation=self.regularisation,
                instrument=self.instrument,
                timeframe=self.timeframe,
            )
        report = None
        hit = None
        if len(test_pairs):
            report = reliability_report(calibration.p_up_array(test_pairs.score), test_pairs.up)
            wins = np.count_nonzero((test_pairs.score > 0) == (test_pairs.up == 1))
            hit = wins / len(test_pairs)
        return FitEvaluation(label, calibration, train_pairs, test_pairs, report, hit)


def calibrate_history(
    candles: Candles,
    hosts: Sequence[StrategyHost],
    weights: Sequence[float],
    *,
    instrument: str,
    timeframe: str,
    source: IndicatorSource | None = None,
    expiry_bars: int = 1,
    holdout: float = 0.3,
    learned: bool = False,
    min_samples: int = 200,
    regularisation: float = 1e-3,
) -> HistoryCalibration:
    """Run the strategies over ``candles`` (vectorised) and calibrate, out of sample."""
    if not hosts:
        raise ValueError("no strategies to calibrate")
    series: list[SignalSeries] = [h.history(candles.columns, source=source) for h in hosts]
    outcomes = expiry_outcomes(
        candles["close"],
        expiry_bars,
        times=candles.times,
        timeframe_s=timeframe_seconds(timeframe),
    )
    bars = len(candles)
    cut = split_index(bars, holdout)
    index = np.arange(bars)
    train = index < cut - expiry_bars
    test = index >= cut
    if learned:
        records = [hit_rate(s, outcomes.up, outcomes.decided & train) for s in series]
        used = learned_weights(records).weights
    else:
        used = check_weights(weights, len(hosts))
    votes = vote_history(series, used)
    split = _Split(
        instrument, timeframe, candles.times, outcomes, train, test, min_samples, regularisation
    )
    ensemble = split.evaluate("ensemble", votes.score)
    per_strategy = tuple(
        split.evaluate(h.label, s.signed()) for h, s in zip(hosts, series, strict=True)
    )
    return HistoryCalibration(
        instrument=instrument,
        timeframe=timeframe,
        bars=bars,
        split_bar=cut,
        weights=tuple(used),
        ensemble=ensemble,
        strategies=per_strategy,
    )
