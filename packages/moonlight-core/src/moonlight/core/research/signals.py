"""Strategies and ensemble over a history, bar for bar what a worker computes.

A worker does not see one continuous history: it warms up from the last ``W`` bars
before it starts (``W`` = the longest strategy warm-up plus the worker's extra bars),
and after a gap of more than ``catch_up_bars`` bars (a weekend, a halt) it rebuilds its
indicators from scratch from the last ``W`` bars ending at the first bar after the gap
-- and does not trade that bar. :func:`segments` cuts the history the same way; each
segment's indicators and signals come from the strategies' vectorised path
(``evaluate_history``, identical to the streaming path by the strategy contract) over
exactly the bars the worker fed them since its last rebuild.

The ensemble then votes (:func:`~moonlight.core.ensemble.vote.vote_history`, the same
sums as the live vote, bit for bit) and p̂ is computed by the kernel that reproduces
:meth:`~moonlight.core.ensemble.ensemble.Ensemble.decide`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.core.data.candles import CandleSeries
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.ensemble.vote import vote_history
from moonlight.core.research.kernels import p_hat_kernel
from moonlight.core.strategy.api import SignalSeries, Strategy
from moonlight.core.strategy.host import StrategyHost
from moonlight.core.strategy.indicators import IndicatorSource, compute_batch

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Segment:
    """Bars ``window_start..stop-1`` fed since a (re)build; trading from ``first_traded``."""

    window_start: int
    first_traded: int
    stop: int


def segments(
    ends: FloatArray, timeframe_s: int, warmup_bars: int, first_traded: int, catch_up_bars: int
) -> list[Segment]:
    """The worker's rebuild segments over bars ``first_traded..`` (see the module doc).

    ``first_traded`` is the first bar after the initial warm-up (the initial window is
    the ``warmup_bars`` bars before it).
    """
    n = ends.shape[0]
    if first_traded >= n:
        return []
    lowest = max(first_traded, 1)
    # bar i (i >= first_traded) closes a gap the worker cannot bridge -- more than
    # catch_up_bars bars missed, i.e. floor(step / timeframe) > catch_up_bars: rebuild
    steps = np.diff(ends[lowest - 1 :])
    rebuild = np.flatnonzero(steps >= (catch_up_bars + 1) * timeframe_s) + lowest
    found: list[Segment] = []
    start, traded = max(0, first_traded - warmup_bars), first_traded
    for r in rebuild.tolist():
        found.append(Segment(start, traded, r))
        start, traded = max(0, r - warmup_bars + 1), r + 1
    found.append(Segment(start, traded, n))
    return [s for s in found if s.first_traded < s.stop]


@dataclass(frozen=True, slots=True)
class EnsembleArrays:
    """Per decided bar: its index in the series, each strategy's signal, the vote, p̂."""

    index: IntArray
    signals: tuple[SignalSeries, ...]
    score: FloatArray
    confidence: FloatArray
    direction: npt.NDArray[np.int8]
    p_up: FloatArray
    p_hat: FloatArray
    #: Per decided bar, whether p̂ came from a fit (None: the setup's fixed calibration).
    calibrated: npt.NDArray[np.bool_] | None = None


def ensemble_arrays(
    strategies: Sequence[Strategy[Any]],
    weights: Sequence[float],
    calibration: Calibration,
    series: CandleSeries,
    source: IndicatorSource,
    parts: Sequence[Segment],
) -> EnsembleArrays:
    """Signals, vote and p̂ on every bar the worker decides on (segment by segment)."""
    hosts = [StrategyHost(s) for s in strategies]
    needs = [need for s in strategies for need in s.needs]
    columns = series.columns()
    indexes: list[IntArray] = []
    per_strategy: list[list[SignalSeries]] = [[] for _ in strategies]
    for part in parts:
        window = {name: values[part.window_start : part.stop] for name, values in columns.items()}
        indicators = compute_batch(needs, window, source)
        offset = part.first_traded - part.window_start
        for host, found in zip(hosts, per_strategy, strict=True):
            full = host.history(window, source=source, indicators=indicators)
            found.append(
                SignalSeries(
                    full.direction[offset:],
                    full.strength[offset:],
                    full.reason_code[offset:],
                    full.reasons,
                )
            )
        indexes.append(np.arange(part.first_traded, part.stop, dtype=np.int64))
    signals = tuple(_concat(found) for found in per_strategy)
    index = np.concatenate(indexes) if indexes else np.empty(0, np.int64)
    vote = vote_history(signals, list(weights)) if signals else None
    if vote is None:
        empty = np.empty(0)
        return EnsembleArrays(index, signals, empty, empty, np.empty(0, np.int8), empty, empty)
    p_up, p_hat = p_hat_kernel(
        np.ascontiguousarray(vote.score),
        np.ascontiguousarray(vote.direction),
        float(calibration.a),
        float(calibration.b),
    )
    return EnsembleArrays(index, signals, vote.score, vote.confidence, vote.direction, p_up, p_hat)


def _concat(parts: Sequence[SignalSeries]) -> SignalSeries:
    """One SignalSeries from consecutive pieces with the same reason table."""
    if not parts:
        return SignalSeries.none(0)
    if len(parts) == 1:
        return parts[0]
    reasons = parts[0].reasons
    codes = []
    for part in parts:
        if part.reasons == reasons:
            codes.append(part.reason_code)
        else:  # an error fallback has its own table: re-index into the first
            table = {r: i for i, r in enumerate(reasons)}
            extra = [r for r in part.reasons if r not in table]
            reasons = (*reasons, *extra)
            table = {r: i for i, r in enumerate(reasons)}
            mapping = np.array([table[r] for r in part.reasons], np.int16)
            codes.append(mapping[part.reason_code])
    return SignalSeries(
        np.concatenate([p.direction for p in parts]),
        np.concatenate([p.strength for p in parts]),
        np.concatenate(codes).astype(np.int16),
        reasons,
    )
