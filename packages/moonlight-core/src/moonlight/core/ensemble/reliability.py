"""How honest a probability is: Brier score, log loss, ECE and the reliability table.

All functions take predicted probabilities ``p`` of an event and its outcomes ``y``
(1 happened, 0 did not), as arrays of the same length.

* Brier score ``mean((p - y)²)``: 0 is perfect, 0.25 is a coin flip's.
* Log loss ``-mean(y·ln p + (1-y)·ln(1-p))`` with p clipped to [1e-15, 1 - 1e-15]:
  ln 2 ≈ 0.693 is a coin flip's.
* Expected calibration error with ``bins`` equal-width bins on [0, 1] (10 by default):
  ``Σ_k (n_k / n)·|mean p in bin k - observed frequency in bin k|``; p = 1 falls in the
  last bin.
* The reliability table lists, per non-empty bin, its edges, count, mean prediction and
  observed frequency -- the data of a reliability diagram.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
DEFAULT_BINS = 10
_CLIP = 1e-15


def _arrays(p: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    probabilities = np.asarray(p, np.float64).ravel()
    outcomes = np.asarray(y, np.float64).ravel()
    if probabilities.shape != outcomes.shape:
        raise ValueError(f"{probabilities.size} predictions but {outcomes.size} outcomes")
    if probabilities.size == 0:
        raise ValueError("no predictions to score")
    if np.any((probabilities < 0) | (probabilities > 1)) or not np.all(np.isfinite(probabilities)):
        raise ValueError("predictions must be probabilities in [0, 1]")
    if not np.all((outcomes == 0) | (outcomes == 1)):
        raise ValueError("outcomes must be 0 or 1")
    return probabilities, outcomes


def brier_score(p: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Mean squared error of the probabilities (0 perfect, 0.25 coin flip)."""
    probabilities, outcomes = _arrays(p, y)
    return float(np.mean((probabilities - outcomes) ** 2))


def log_loss(p: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Mean negative log-likelihood, p clipped away from 0 and 1 (ln 2 = coin flip)."""
    probabilities, outcomes = _arrays(p, y)
    clipped = np.clip(probabilities, _CLIP, 1.0 - _CLIP)
    return float(-np.mean(outcomes * np.log(clipped) + (1.0 - outcomes) * np.log1p(-clipped)))


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One row of the reliability table."""

    lower: float
    upper: float
    count: int
    mean_predicted: float
    observed: float

    @property
    def gap(self) -> float:
        """|mean prediction - observed frequency| in this bin."""
        return abs(self.mean_predicted - self.observed)


def reliability_table(
    p: npt.ArrayLike, y: npt.ArrayLike, *, bins: int = DEFAULT_BINS
) -> list[ReliabilityBin]:
    """Per non-empty equal-width bin: edges, count, mean prediction, observed frequency."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    probabilities, outcomes = _arrays(p, y)
    index = np.minimum((probabilities * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    sum_p = np.bincount(index, weights=probabilities, minlength=bins)
    sum_y = np.bincount(index, weights=outcomes, minlength=bins)
    rows = []
    for k in range(bins):
        if counts[k]:
            rows.append(
                ReliabilityBin(
                    lower=k / bins,
                    upper=(k + 1) / bins,
                    count=int(counts[k]),
                    mean_predicted=float(sum_p[k] / counts[k]),
                    observed=float(sum_y[k] / counts[k]),
                )
            )
    return rows


def expected_calibration_error(
    p: npt.ArrayLike, y: npt.ArrayLike, *, bins: int = DEFAULT_BINS
) -> float:
    """Count-weighted mean gap between prediction and frequency over ``bins`` bins."""
    table = reliability_table(p, y, bins=bins)
    total = sum(row.count for row in table)
    return float(sum(row.count * row.gap for row in table) / total)


@dataclass(frozen=True, slots=True)
class ReliabilityReport:
    """Every reliability figure of one set of predictions."""

    n_samples: int
    base_rate: float
    brier: float
    log_loss: float
    ece: float
    table: tuple[ReliabilityBin, ...]

    def metrics(self) -> dict[str, float]:
        """The scalar figures, JSON-ready (stored with a calibration)."""
        return {
            "n_samples": self.n_samples,
            "base_rate": self.base_rate,
            "brier": self.brier,
            "log_loss": self.log_loss,
            "ece": self.ece,
        }

    def to_dict(self) -> dict[str, object]:
        """Figures and table, JSON-ready."""
        return {**self.metrics(), "table": [asdict(row) for row in self.table]}

    def format(self) -> str:
        """A human-readable block: the figures, then the table."""
        lines = [
            f"samples {self.n_samples}  base rate {self.base_rate:.4f}  "
            f"Brier {self.brier:.5f}  log loss {self.log_loss:.5f}  ECE {self.ece:.5f}",
            f"  {'bin':>11}  {'count':>8}  {'mean p̂':>8}  {'observed':>8}  {'gap':>7}",
        ]
        for row in self.table:
            close = "]" if row.upper >= 1.0 else ")"
            lines.append(
                f"  [{row.lower:.1f}, {row.upper:.1f}{close}  {row.count:>8}  "
                f"{row.mean_predicted:>8.4f}  {row.observed:>8.4f}  {row.gap:>7.4f}"
            )
        return "\n".join(lines)


def reliability_report(
    p: npt.ArrayLike, y: npt.ArrayLike, *, bins: int = DEFAULT_BINS
) -> ReliabilityReport:
    """Brier, log loss, ECE and the table for predictions ``p`` of outcomes ``y``."""
    probabilities, outcomes = _arrays(p, y)
    table = tuple(reliability_table(probabilities, outcomes, bins=bins))
    total = sum(row.count for row in table)
    ece = sum(row.count * row.gap for row in table) / total
    return ReliabilityReport(
        n_samples=int(probabilities.size),
        base_rate=float(outcomes.mean()),
        brier=brier_score(probabilities, outcomes),
        log_loss=log_loss(probabilities, outcomes),
        ece=float(ece),
        table=table,
    )
