"""Calibration data from a candle history: outcomes at expiry, scores from strategies.

A decision is taken at the close of bar ``t``; a contract of ``expiry_bars`` bars enters
at that close and settles at the close of bar ``t + expiry_bars``: up (1) if the exit
is above the entry, down (0) if below, a push (left out) if equal. When the history has
times, a pair whose exit bar is not exactly ``expiry_bars`` timeframes later (a weekend
or feed gap in between) is left out too -- no such contract could have settled there.

:func:`read_candles_csv` reads the plain OHLCV CSV MoonLight's tools exchange
(``timestamp,open,high,low,close,volume``, optionally gzip'd, ISO-8601 UTC times)
without pandas, which moonlight-core does not depend on.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from moonlight.core.ensemble.book import ScoredOutcomes
from moonlight.core.strategy.api import PRICE_COLUMNS, TIME_COLUMN, FloatArray

Times = npt.NDArray[np.datetime64]


@dataclass(frozen=True, slots=True)
class Candles:
    """OHLCV arrays (plus ``start_ts`` in epoch seconds) and bar open times (UTC)."""

    columns: dict[str, FloatArray]
    times: Times

    def __len__(self) -> int:
        return int(self.times.size)

    def __getitem__(self, column: str) -> FloatArray:
        return self.columns[column]


def read_candles_csv(path: Path) -> Candles:
    """Candles from a CSV (or ``.gz``) with a header naming ``timestamp`` and OHLCV."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader)]
        missing = [c for c in ("timestamp", *PRICE_COLUMNS[:4]) if c not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    stamp = header.index("timestamp")
    times = np.array(
        [row[stamp].strip().removesuffix("Z").replace(" ", "T") for row in rows], "datetime64[s]"
    )
    columns: dict[str, FloatArray] = {}
    for name in PRICE_COLUMNS:
        if name in header:
            index = header.index(name)
            columns[name] = np.array([float(row[index]) for row in rows], np.float64)
        else:
            columns[name] = np.zeros(len(rows))
    columns[TIME_COLUMN] = times.astype(np.int64).astype(np.float64)
    if times.size > 1 and not np.all(np.diff(times) > np.timedelta64(0, "s")):
        raise ValueError(f"{path}: timestamps are not strictly increasing")
    return Candles(columns, times)


@dataclass(frozen=True, slots=True)
class ExpiryOutcomes:
    """Per bar: whether a contract decided there settled (up/down), and which way."""

    decided: npt.NDArray[np.bool_]
    up: npt.NDArray[np.int8]


def expiry_outcomes(
    close: FloatArray,
    expiry_bars: int,
    *,
    times: Times | None = None,
    timeframe_s: int | None = None,
) -> ExpiryOutcomes:
    """Outcome of a contract entered at each bar's close and settled ``expiry_bars`` later."""
    if expiry_bars < 1:
        raise ValueError("expiry_bars must be at least 1")
    n = close.size
    exit_price = np.full(n, np.nan)
    exit_price[: max(n - expiry_bars, 0)] = close[expiry_bars:]
    decided = np.isfinite(exit_price) & np.isfinite(close) & (exit_price != close)
    if times is not None and times.size and timeframe_s is not None:
        span = np.full(n, -1, np.int64)
        seconds = times.astype("datetime64[s]").astype(np.int64)
        span[: max(n - expiry_bars, 0)] = seconds[expiry_bars:] - seconds[:-expiry_bars]
        decided &= span == expiry_bars * timeframe_s
    up = (decided & (exit_price > close)).astype(np.int8)
    return ExpiryOutcomes(decided, up)


def scored_outcomes(
    score: FloatArray,
    outcomes: ExpiryOutcomes,
    *,
    instrument: str,
    timeframe: str,
    times: Times | None = None,
    mask: npt.NDArray[np.bool_] | None = None,
) -> ScoredOutcomes:
    """The (S, up) pairs of the decided bars where S ≠ 0 (a trade was possible)."""
    keep = outcomes.decided & (score != 0.0)
    if mask is not None:
        keep &= mask
    return ScoredOutcomes.build(
        score[keep],
        outcomes.up[keep],
        instrument=instrument,
        timeframe=timeframe,
        at=times[keep] if times is not None and times.size else None,
    )


def split_index(bars: int, holdout: float) -> int:
    """First bar of the hold-out window (the last ``holdout`` fraction of the history)."""
    if not 0.0 <= holdout < 1.0:
        raise ValueError("holdout must be in [0, 1)")
    return round(bars * (1.0 - holdout))
