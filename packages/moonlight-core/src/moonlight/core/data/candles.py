"""CandleSeries: one instrument's bars as contiguous float64 arrays.

Times are bar **open** times in UTC epoch seconds (``start_ts``, as on the connector's
:class:`~moonlight.core.connectors.contract.Candle`); a bar covers
``[start_ts, start_ts + timeframe_s)``. The arrays are kept exactly as loaded -- in file
order, with whatever duplicates or gaps the file has -- and :attr:`CandleSeries.report`
says what is wrong with them (:mod:`moonlight.core.data.validation`). Code that replays
bars in time order calls :meth:`CandleSeries.require_ordered` first.

pandas is optional: :meth:`CandleSeries.to_frame` and :meth:`CandleSeries.from_frame`
import it when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from moonlight.core.data.errors import DataError, DataValidationError
from moonlight.core.data.optional import DataFrame, pandas
from moonlight.core.timeframes import timeframe_seconds

if TYPE_CHECKING:
    from moonlight.core.data.validation import ValidationReport

FloatArray = npt.NDArray[np.float64]
#: The price columns, in the order files and frames carry them.
OHLCV: tuple[str, ...] = ("open", "high", "low", "close", "volume")


def _float_array(values: Any, name: str) -> FloatArray:
    array = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    if array.ndim != 1:
        raise DataError(f"column {name!r} must be 1-D, got shape {array.shape}")
    return array


@dataclass(frozen=True, eq=False)
class CandleSeries:
    """Bars of one instrument at one timeframe; see the module docstring."""

    instrument: str
    timeframe_s: int
    start_ts: FloatArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    #: Where the bars came from (a file path, "frame"), for messages.
    source: str = ""
    _report: list[ValidationReport] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.timeframe_s <= 0:
            raise DataError(f"timeframe_s must be positive, got {self.timeframe_s}")
        length = self.start_ts.shape[0]
        for name in ("start_ts", *OHLCV):
            array = _float_array(getattr(self, name), name)
            if array.shape[0] != length:
                raise DataError(f"column {name!r} has {array.shape[0]} rows, expected {length}")
            object.__setattr__(self, name, array)

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        instrument: str,
        timeframe: str | int,
        columns: Mapping[str, Any],
        *,
        source: str = "",
    ) -> CandleSeries:
        """A series from a mapping with ``start_ts`` (epoch s) and the OHLC(V) columns."""
        seconds = timeframe if isinstance(timeframe, int) else timeframe_seconds(timeframe)
        try:
            start = columns["start_ts"]
            prices = {name: columns[name] for name in OHLCV[:4]}
        except KeyError as exc:
            raise DataError(f"missing column {exc.args[0]!r}") from None
        volume = columns.get("volume")
        length = len(start)
        return cls(
            instrument,
            seconds,
            _float_array(start, "start_ts"),
            _float_array(prices["open"], "open"),
            _float_array(prices["high"], "high"),
            _float_array(prices["low"], "low"),
            _float_array(prices["close"], "close"),
            _float_array(np.zeros(length) if volume is None else volume, "volume"),
            source=source,
        )

    @classmethod
    def from_frame(
        cls, frame: DataFrame, instrument: str, timeframe: str | int | None = None
    ) -> CandleSeries:
        """A series from a pandas frame with OHLC(V) columns and bar open times.

        Times come from a ``start_ts`` column (epoch seconds), else a ``timestamp``
        column, else the index; they must be timezone-aware or numbers (a naive time is
        refused: say which timezone it is in with ``tz_localize`` first). Without
        ``timeframe`` the most common spacing of the bars is used.
        """
        pd = pandas()
        lowered = {str(c).lower(): c for c in frame.columns}
        if "start_ts" in lowered:
            seconds = np.asarray(frame[lowered["start_ts"]], dtype=np.float64)
        else:
            times = frame[lowered["timestamp"]] if "timestamp" in lowered else frame.index
            index = pd.DatetimeIndex(times)
            if index.tz is None:
                raise DataError(
                    "bar times are naive: localise them (e.g. frame.tz_localize('UTC'))"
                    " so the timezone is explicit"
                )
            nanos = index.tz_convert("UTC").as_unit("ns").asi8
            seconds = nanos.astype(np.float64) / 1e9
        columns: dict[str, Any] = {"start_ts": seconds}
        for name in OHLCV:
            if name in lowered:
                columns[name] = frame[lowered[name]].to_numpy(dtype=np.float64)
            elif name != "volume":
                raise DataError(f"frame has no {name!r} column")
        tf = infer_timeframe_s(seconds) if timeframe is None else timeframe
        return cls.from_arrays(instrument, tf, columns, source="frame")

    # -- reading ------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.start_ts.shape[0])

    @property
    def end_ts(self) -> FloatArray:
        """Bar close times (exclusive ends), epoch seconds."""
        return self.start_ts + float(self.timeframe_s)

    @property
    def report(self) -> ValidationReport:
        """What :func:`~moonlight.core.data.validation.validate` finds (computed once)."""
        if not self._report:
            from moonlight.core.data.validation import validate

            self._report.append(validate(self))
        return self._report[0]

    def require_ordered(self) -> CandleSeries:
        """This series, or a :class:`DataValidationError` when it cannot be replayed:
        times not strictly increasing, not aligned to the timeframe, or prices missing,
        non-finite or not positive (:data:`~moonlight.core.data.validation.REPLAY_BLOCKERS`).

        A replay needs bars in time order, once each: the series is never reordered or
        de-duplicated behind the caller's back. OHLC inconsistencies and negative volume
        are reported but do not stop a replay (the caller chose to load them).
        """
        from moonlight.core.data.validation import REPLAY_BLOCKERS

        report = self.report
        if any(report.counts.get(kind, 0) for kind in REPLAY_BLOCKERS):
            raise DataValidationError(
                f"{self.source or self.instrument}: cannot replay these candles:\n"
                + report.format(limit=10),
                report,
            )
        return self

    def columns(self) -> dict[str, FloatArray]:
        """OHLCV plus ``start_ts``, the mapping strategies' vectorised paths read."""
        return {
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
            "start_ts": self.start_ts,
        }

    def slice(self, start: int | None = None, stop: int | None = None) -> CandleSeries:
        """Bars ``start:stop`` (views, no copy)."""
        part = slice(start, stop)
        return replace(
            self,
            start_ts=self.start_ts[part],
            open=self.open[part],
            high=self.high[part],
            low=self.low[part],
            close=self.close[part],
            volume=self.volume[part],
            _report=[],
        )

    def between(self, start_ts: float | None = None, end_ts: float | None = None) -> CandleSeries:
        """Bars opening at or after ``start_ts`` and closing at or before ``end_ts``."""
        first = 0 if start_ts is None else int(np.searchsorted(self.start_ts, start_ts, "left"))
        last = len(self) if end_ts is None else int(np.searchsorted(self.end_ts, end_ts, "right"))
        return self.slice(first, max(first, last))

    def to_frame(self) -> DataFrame:
        """A pandas frame: OHLCV columns on a UTC ``DatetimeIndex`` named ``timestamp``."""
        pd = pandas()
        index = pd.to_datetime(self.start_ts, unit="s", utc=True)
        index.name = "timestamp"
        return pd.DataFrame({name: getattr(self, name) for name in OHLCV}, index=index, copy=False)


def infer_timeframe_s(start_ts: npt.ArrayLike) -> int:
    """The most common positive spacing between consecutive bar times, in whole seconds.

    A :class:`DataError` when there are fewer than two bars or no positive spacing.
    """
    times = np.asarray(start_ts, dtype=np.float64)
    steps = np.diff(times)
    steps = steps[np.isfinite(steps) & (steps > 0)]
    if steps.size == 0:
        raise DataError("cannot infer the timeframe: need two bars with increasing times")
    values, counts = np.unique(np.round(steps).astype(np.int64), return_counts=True)
    best = int(values[int(np.argmax(counts))])
    if best <= 0:
        raise DataError("cannot infer the timeframe: bars are less than a second apart")
    return best
