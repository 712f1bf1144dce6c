"""What is wrong with a candle series -- reported, never silently fixed.

:func:`validate` checks every bar and returns a :class:`ValidationReport`. Problems come
in two severities:

* **errors** make the bars unusable for a replay as they stand: time going backwards
  (``non_monotonic``), the same bar time twice (``duplicate``), a bar time that is not
  a multiple of the timeframe (``misaligned``; the engine's bars are epoch-aligned),
  non-finite or non-positive prices (``bad_price``), negative volume
  (``negative_volume``), and OHLC values that contradict each other
  (``ohlc_inconsistent``: high below open/close/low, or low above open/close);
* **notices** are facts worth knowing: missing bars (``gap``, with each gap's span).

Nothing is dropped, reordered or clipped: the caller decides (the replay refuses a
series with errors; a notebook may look at the report and clean the file itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from moonlight.core.data.candles import CandleSeries

#: Individual problems kept per kind (the counts are always complete).
MAX_EXAMPLES = 50


class IssueKind(StrEnum):
    """Kinds of problems; the first six are errors, ``gap`` is a notice."""

    NON_MONOTONIC = "non_monotonic"
    DUPLICATE = "duplicate"
    MISALIGNED = "misaligned"
    BAD_PRICE = "bad_price"
    NEGATIVE_VOLUME = "negative_volume"
    OHLC_INCONSISTENT = "ohlc_inconsistent"
    GAP = "gap"


ERROR_KINDS = frozenset(IssueKind) - {IssueKind.GAP}
#: Errors that make a replay impossible (the others can be replayed when loaded leniently).
REPLAY_BLOCKERS = frozenset(
    {IssueKind.NON_MONOTONIC, IssueKind.DUPLICATE, IssueKind.MISALIGNED, IssueKind.BAD_PRICE}
)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem at one row (0-based position in the series as loaded)."""

    kind: IssueKind
    row: int
    start_ts: float
    detail: str


@dataclass(frozen=True, slots=True)
class Gap:
    """Bars missing between two consecutive bars: ``missing_bars`` after ``after_ts``."""

    after_ts: float
    before_ts: float
    missing_bars: int


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Every problem :func:`validate` found; ``counts`` are complete, ``issues`` capped."""

    rows: int
    timeframe_s: int
    counts: dict[IssueKind, int]
    issues: tuple[Issue, ...]
    gaps: tuple[Gap, ...]

    @property
    def errors(self) -> int:
        """How many rows have an error-level problem (see the module docstring)."""
        return sum(n for kind, n in self.counts.items() if kind in ERROR_KINDS)

    @property
    def ok(self) -> bool:
        """True when there is no error (gaps are allowed)."""
        return self.errors == 0

    @property
    def missing_bars(self) -> int:
        """Total bars missing inside the series' time range."""
        return sum(gap.missing_bars for gap in self.gaps)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready counts, the first issues and the largest gaps."""
        largest = sorted(self.gaps, key=lambda g: -g.missing_bars)[:10]
        return {
            "rows": self.rows,
            "timeframe_s": self.timeframe_s,
            "counts": {kind.value: n for kind, n in self.counts.items()},
            "issues": [
                {"kind": i.kind.value, "row": i.row, "time": _iso(i.start_ts), "detail": i.detail}
                for i in self.issues[:MAX_EXAMPLES]
            ],
            "gaps": len(self.gaps),
            "missing_bars": self.missing_bars,
            "largest_gaps": [
                {"after": _iso(g.after_ts), "before": _iso(g.before_ts), "bars": g.missing_bars}
                for g in largest
            ],
        }

    def format(self, *, limit: int = 20) -> str:
        """Human-readable lines: counts, then up to ``limit`` issues."""
        lines = [f"{self.rows} rows, timeframe {self.timeframe_s} s"]
        for kind, count in self.counts.items():
            if count:
                lines.append(f"  {kind.value}: {count}")
        if self.gaps:
            lines.append(f"  gaps: {len(self.gaps)} ({self.missing_bars} bars missing)")
        for issue in self.issues[:limit]:
            when = _iso(issue.start_ts)
            lines.append(f"  row {issue.row + 1} ({when}): {issue.kind.value}: {issue.detail}")
        return "\n".join(lines)


def _iso(ts: float) -> str:
    if not np.isfinite(ts) or abs(ts) > 1e11:
        return repr(ts)
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate(series: CandleSeries) -> ValidationReport:
    """Check ``series`` bar by bar; see the module docstring for what is checked."""
    t = series.start_ts
    o, h, lo, c, v = series.open, series.high, series.low, series.close, series.volume
    tf = float(series.timeframe_s)
    found: dict[IssueKind, list[Issue]] = {kind: [] for kind in IssueKind}
    counts: dict[IssueKind, int] = dict.fromkeys(IssueKind, 0)

    def note(kind: IssueKind, rows: np.ndarray, describe: str) -> None:
        counts[kind] += int(rows.size)
        for row in rows[: MAX_EXAMPLES - len(found[kind])]:
            found[kind].append(Issue(kind, int(row), float(t[row]), describe))

    finite_t = np.isfinite(t)
    note(IssueKind.BAD_PRICE, np.flatnonzero(~finite_t), "bar time is not a number")
    step = np.diff(t)
    backwards = np.flatnonzero(step < 0) + 1
    note(IssueKind.NON_MONOTONIC, backwards, "earlier than the bar before it")
    same = np.flatnonzero(step == 0) + 1
    note(IssueKind.DUPLICATE, same, "same time as the bar before it")
    if step.size and not np.all(step >= 0):  # duplicates that are not adjacent
        order = np.argsort(t, kind="stable")
        repeated = order[1:][np.diff(t[order]) == 0]
        extra = np.setdiff1d(repeated, same)
        note(IssueKind.DUPLICATE, extra, "same time as an earlier bar")
    with np.errstate(invalid="ignore"):
        misaligned = np.flatnonzero(finite_t & (np.mod(t, tf) != 0))
    note(
        IssueKind.MISALIGNED, misaligned, f"not a multiple of the {series.timeframe_s} s timeframe"
    )

    prices = np.vstack([o, h, lo, c])
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~np.all(np.isfinite(prices) & (prices > 0), axis=0))
        note(IssueKind.BAD_PRICE, bad, "a price is missing, not finite or not positive")
        negative = np.flatnonzero(~(v >= 0))
        note(IssueKind.NEGATIVE_VOLUME, negative, "volume is negative or not a number")
        inconsistent = np.flatnonzero((h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (h < lo))
    note(
        IssueKind.OHLC_INCONSISTENT,
        inconsistent,
        "high below open/close/low or low above open/close",
    )

    gaps: list[Gap] = []
    wide = np.flatnonzero(step > tf)
    if wide.size:
        missing = np.floor(step[wide] / tf).astype(np.int64) - 1
        for index, bars in zip(wide, missing, strict=True):
            if bars > 0:
                gaps.append(Gap(float(t[index]), float(t[index + 1]), int(bars)))
    counts[IssueKind.GAP] = len(gaps)
    issues = tuple(issue for kind in IssueKind for issue in found[kind])
    return ValidationReport(len(series), series.timeframe_s, counts, issues, tuple(gaps))
