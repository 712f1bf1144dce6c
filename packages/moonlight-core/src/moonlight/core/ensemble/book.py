"""Calibrations per (instrument, timeframe), with a global fit to fall back on.

Markets differ -- a score of 0.4 on EURUSD at 1 m need not mean what it means on
BTCUSDT at 5 m -- so Platt fits are kept per (instrument, timeframe). A key with fewer
than ``min_samples`` decided (S, outcome) pairs (``ensemble.calibration.min_samples``)
gets no fit of its own and uses the global fit over all pairs; if even the global data
is thinner than ``min_samples``, :data:`~moonlight.core.ensemble.platt.UNFITTED` (no
edge, p̂ = 0.5) applies.

Outcomes are "up" (1) or "down" (0) relative to the entry price, whatever was traded:
a won up trade and a lost down trade both mean the price went up.
:func:`up_from_trades` converts stored trade outcomes; pushes and aborts are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from moonlight.core.ensemble.platt import UNFITTED, Calibration, fit_platt
from moonlight.core.ensemble.reliability import reliability_report

FloatArray = npt.NDArray[np.float64]
Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class ScoredOutcomes:
    """Decided (S, up/down) pairs with their instrument, timeframe and time.

    ``at`` holds numpy ``datetime64`` times in UTC (or is empty when unknown).
    """

    score: FloatArray
    up: npt.NDArray[np.int8]
    instrument: npt.NDArray[np.str_]
    timeframe: npt.NDArray[np.str_]
    at: npt.NDArray[np.datetime64]

    @classmethod
    def build(
        cls,
        score: npt.ArrayLike,
        up: npt.ArrayLike,
        *,
        instrument: str | Sequence[str],
        timeframe: str | Sequence[str],
        at: npt.ArrayLike | None = None,
    ) -> ScoredOutcomes:
        """Pairs from arrays; a single instrument/timeframe string applies to all."""
        scores = np.asarray(score, np.float64).ravel()
        n = scores.size
        instruments = np.asarray(
            [instrument] * n if isinstance(instrument, str) else list(instrument), np.str_
        )
        timeframes = np.asarray(
            [timeframe] * n if isinstance(timeframe, str) else list(timeframe), np.str_
        )
        times = (
            np.asarray(at, "datetime64[us]").ravel()
            if at is not None
            else np.array([], "datetime64[us]")
        )
        ups = np.asarray(up).ravel().astype(np.int8)
        if not (ups.size == instruments.size == timeframes.size == n):
            raise ValueError("score, up, instrument and timeframe must have the same length")
        if times.size not in (0, n):
            raise ValueError("at must be empty or have one time per pair")
        return cls(scores, ups, instruments, timeframes, times)

    def __len__(self) -> int:
        return int(self.score.size)

    @classmethod
    def concat(cls, parts: Sequence[ScoredOutcomes]) -> ScoredOutcomes:
        """All pairs of ``parts`` in order (times kept only if every part has them)."""
        timed = all(p.at.size == len(p) for p in parts)
        return cls(
            np.concatenate([p.score for p in parts]) if parts else np.zeros(0),
            np.concatenate([p.up for p in parts]) if parts else np.zeros(0, np.int8),
            np.concatenate([p.instrument for p in parts]) if parts else np.zeros(0, np.str_),
            np.concatenate([p.timeframe for p in parts]) if parts else np.zeros(0, np.str_),
            np.concatenate([p.at for p in parts])
            if parts and timed
            else np.array([], "datetime64[us]"),
        )

    def select(self, mask: npt.NDArray[np.bool_]) -> ScoredOutcomes:
        """The pairs where ``mask`` is true."""
        return ScoredOutcomes(
            self.score[mask],
            self.up[mask],
            self.instrument[mask],
            self.timeframe[mask],
            self.at[mask] if self.at.size else self.at,
        )

    def groups(self) -> list[Key]:
        """Distinct (instrument, timeframe) pairs, sorted."""
        return sorted(
            {(str(i), str(t)) for i, t in zip(self.instrument, self.timeframe, strict=True)}
        )

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """First and last time (aware UTC), or (None, None) when times are unknown."""
        if not self.at.size:
            return None, None
        return _aware(self.at.min()), _aware(self.at.max())


def _aware(value: np.datetime64) -> datetime:
    seconds = value.astype("datetime64[us]").astype(np.int64) / 1e6
    return datetime.fromtimestamp(float(seconds), UTC)


def up_from_trades(
    signs: Iterable[int], outcomes: Iterable[str]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int8]]:
    """From traded directions (+1/-1) and outcomes (win/lose/push/abort) to up flags.

    Returns ``(kept, up)``: ``kept`` marks the decided trades (win or lose), ``up`` is 1
    where the price ended above entry (won up or lost down), for the kept trades only.
    """
    sign_array = np.fromiter(signs, np.int8)
    outcome_array = np.asarray(list(outcomes), np.str_)
    if sign_array.size != outcome_array.size:
        raise ValueError("one outcome per traded direction")
    win = outcome_array == "win"
    lose = outcome_array == "lose"
    kept = (win | lose) & (sign_array != 0)
    up = ((sign_array > 0) & win) | ((sign_array < 0) & lose)
    return kept, up[kept].astype(np.int8)


def fit_one(
    data: ScoredOutcomes,
    *,
    regularisation: float,
    instrument: str | None = None,
    timeframe: str | None = None,
) -> Calibration:
    """One Platt fit over ``data``, carrying its data range and in-sample reliability."""
    a, b = fit_platt(data.score, data.up, regularisation=regularisation)
    fitted = Calibration(a=a, b=b, n_samples=len(data))
    report = reliability_report(fitted.p_up_array(data.score), data.up)
    data_from, data_to = data.time_range()
    return replace(
        fitted,
        instrument=instrument,
        timeframe=timeframe,
        data_from=data_from,
        data_to=data_to,
        metrics=report.metrics(),
    )


class CalibrationBook:
    """The calibrations in force: per key where data sufficed, else global, else none."""

    def __init__(
        self,
        fits: Mapping[Key, Calibration] | None = None,
        global_fit: Calibration | None = None,
        *,
        min_samples: int = 200,
    ) -> None:
        self.min_samples = min_samples
        self.fits: dict[Key, Calibration] = {
            key: fit for key, fit in (fits or {}).items() if fit.n_samples >= min_samples
        }
        self.global_fit = (
            global_fit if global_fit is not None and global_fit.n_samples >= min_samples else None
        )

    def lookup(self, instrument: str, timeframe: str) -> Calibration:
        """The calibration for a worker: its own fit, the global fit, or UNFITTED."""
        fit = self.fits.get((instrument, timeframe))
        if fit is not None:
            return fit
        return self.global_fit if self.global_fit is not None else UNFITTED

    def all_fits(self) -> list[Calibration]:
        """Every fit held, global first, then per key sorted."""
        fits = [self.global_fit] if self.global_fit is not None else []
        return fits + [self.fits[key] for key in sorted(self.fits)]


def fit_book(
    data: ScoredOutcomes, *, min_samples: int = 200, regularisation: float = 1e-3
) -> CalibrationBook:
    """Fit every (instrument, timeframe) with at least ``min_samples`` pairs, and global."""
    fits: dict[Key, Calibration] = {}
    for instrument, timeframe in data.groups():
        mask = (data.instrument == instrument) & (data.timeframe == timeframe)
        subset = data.select(mask)
        if len(subset) >= min_samples:
            fits[(instrument, timeframe)] = fit_one(
                subset, regularisation=regularisation, instrument=instrument, timeframe=timeframe
            )
    global_fit = fit_one(data, regularisation=regularisation) if len(data) >= min_samples else None
    return CalibrationBook(fits, global_fit, min_samples=min_samples)
