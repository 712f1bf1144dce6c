"""Walk-forward calibration: refit Platt online from outcomes as they become known.

:class:`OnlineCalibrator` is fed decided (S, up) outcomes in the order they become known
(a shadow outcome is known when the bar its contract expires on has closed) and answers
"which calibration is in force now" for an (instrument, timeframe). Because it only ever
sees outcomes that were known when they were added, the p̂ of a decision taken after
``add`` calls uses only the past -- walk-forward by construction.

Cadence and window (``ensemble.calibration``):

* a key is refitted when ``refit_every`` new outcomes arrived for it since its last
  fit, on its newest ``window`` outcomes, once it holds at least ``min_samples``;
* the **global** fit (every key together) is refitted on the same rule over the newest
  ``window`` outcomes of all keys, and is what a key without a fit of its own uses;
* with neither, the ``seed`` book (fits stored earlier, e.g. by ``moonlight
  calibrate``) answers, and without a seed fit the conservative
  :data:`~moonlight.core.ensemble.platt.UNFITTED` mapping (p̂ = 0.5, never above
  break-even).

Every fit carries its data range and sample count; ``on_fit`` is called with each new
fit so the caller can store it (one row per fit: the fits are versioned by time).
Pushes never reach the calibrator (the caller drops them) and neither do S = 0 bars.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from moonlight.core.ensemble.book import CalibrationBook, Key, ScoredOutcomes, fit_one
from moonlight.core.ensemble.platt import UNFITTED, Calibration

#: The key the global fit is kept under.
GLOBAL: Key = ("", "")


@dataclass(slots=True)
class _Window:
    """The newest outcomes of one key and how many arrived since its last fit."""

    size: int
    score: deque[float] = field(init=False)
    up: deque[int] = field(init=False)
    at: deque[float] = field(init=False)
    fresh: int = 0
    total: int = 0

    def __post_init__(self) -> None:
        self.score = deque(maxlen=self.size)
        self.up = deque(maxlen=self.size)
        self.at = deque(maxlen=self.size)

    def add(self, at_ts: float, score: float, up: int) -> None:
        self.score.append(score)
        self.up.append(up)
        self.at.append(at_ts)
        self.fresh += 1
        self.total += 1

    def outcomes(self, instrument: str, timeframe: str) -> ScoredOutcomes:
        return ScoredOutcomes.build(
            np.fromiter(self.score, np.float64, len(self.score)),
            np.fromiter(self.up, np.int8, len(self.up)),
            instrument=instrument,
            timeframe=timeframe,
            at=(np.fromiter(self.at, np.float64, len(self.at)) * 1e6).astype("datetime64[us]"),
        )


class OnlineCalibrator:
    """Per-key and global Platt fits refitted on a schedule; see the module docstring."""

    def __init__(
        self,
        *,
        min_samples: int = 200,
        refit_every: int = 50,
        window: int = 5000,
        regularisation: float = 1e-3,
        seed: CalibrationBook | None = None,
        on_fit: Callable[[Calibration], None] | None = None,
    ) -> None:
        if not 0 < min_samples <= window:
            raise ValueError("need 0 < min_samples <= window")
        if refit_every < 1:
            raise ValueError("refit_every must be at least 1")
        self.min_samples = min_samples
        self.refit_every = refit_every
        self.window = window
        self.regularisation = regularisation
        self.seed = seed
        self.on_fit = on_fit
        self.fits: dict[Key, Calibration] = {}
        self.refits = 0
        self._windows: dict[Key, _Window] = {}

    def add(self, instrument: str, timeframe: str, at_ts: float, score: float, up: int) -> None:
        """One decided outcome (``up`` 1 or 0), known at ``at_ts``; refits when due."""
        if score == 0.0:
            return
        for key in ((instrument, timeframe), GLOBAL):
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(self.window)
            window.add(at_ts, score, up)
            if len(window.score) >= self.min_samples and window.fresh >= self.refit_every:
                self._refit(key, window)

    def _refit(self, key: Key, window: _Window) -> None:
        instrument, timeframe = key
        scoped = key != GLOBAL
        fit = fit_one(
            window.outcomes(instrument, timeframe),
            regularisation=self.regularisation,
            instrument=instrument if scoped else None,
            timeframe=timeframe if scoped else None,
        )
        window.fresh = 0
        self.fits[key] = fit
        self.refits += 1
        if self.on_fit is not None:
            self.on_fit(fit)

    def lookup(self, instrument: str, timeframe: str) -> Calibration:
        """The calibration in force for a key now: own fit, global, seed, or UNFITTED."""
        fit = self.fits.get((instrument, timeframe)) or self.fits.get(GLOBAL)
        if fit is not None:
            return fit
        return self.seed.lookup(instrument, timeframe) if self.seed is not None else UNFITTED

    def outcomes_seen(self, instrument: str | None = None, timeframe: str = "") -> int:
        """Outcomes added so far for a key (all keys with ``instrument`` None)."""
        window = self._windows.get(GLOBAL if instrument is None else (instrument, timeframe))
        return window.total if window is not None else 0
