"""One entry point for every supported candle file: :func:`load_candles`.

The format is recognised from the content (Parquet's magic bytes; the first line of a
text file, see :func:`~moonlight.core.data.csv_formats.detect_text_format`), or named
with ``format=``. gzip is recognised by its magic bytes whatever the file is called.

Timezones are explicit: times written with ``Z`` or an offset are converted with it;
naive times need ``timezone=`` -- except HistData files, whose documented timezone
(Eastern Standard Time without daylight saving, ``Etc/GMT+5``) is the default, and
which a caller can still override.

The loaded bars are checked (:mod:`moonlight.core.data.validation`). With
``strict=True`` (the default) a file with error-level problems raises
:class:`~moonlight.core.data.errors.DataValidationError` carrying the report; with
``strict=False`` the series is returned exactly as read and ``series.report`` lists the
problems. Nothing is repaired either way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from moonlight.core.data.candles import CandleSeries, infer_timeframe_s
from moonlight.core.data.csv_formats import (
    detect_text_format,
    read_generic,
    read_histdata,
    read_mt4,
    read_mt5,
)
from moonlight.core.data.errors import DataError, DataFormatError, DataValidationError
from moonlight.core.data.parquet import PARQUET_MAGIC, read_parquet
from moonlight.core.data.text import read_text
from moonlight.core.timeframes import timeframe_seconds

Format = Literal["auto", "csv", "histdata", "mt4", "mt5", "parquet"]
FORMATS: tuple[str, ...] = ("auto", "csv", "histdata", "mt4", "mt5", "parquet")
#: HistData.com's documented timezone: EST, no daylight saving (UTC-5 all year).
HISTDATA_TIMEZONE = "Etc/GMT+5"
_NOISE = {"DAT", "ASCII", "MT", "MT4", "MT5", "HISTDATA", "DATA", "CANDLES", "BARS"}


def instrument_from_name(path: Path) -> str:
    """A guess of the instrument from a file name (``EURUSD_M1_2017.csv.gz`` → EURUSD)."""
    name = path.name
    for suffix in (".gz", ".csv", ".txt", ".parquet", ".pq"):
        name = name.removesuffix(suffix).removesuffix(suffix.upper())
    for token in re.split(r"[_.\-\s]+", name):
        if token and token.upper() not in _NOISE and not token.isdigit():
            return token.upper()
    return path.stem.upper() or "INSTRUMENT"


def detect_format(path: Path) -> str:
    """The format of ``path`` from its content (see the module docstring)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as error:
        raise DataFormatError(f"{path}: cannot read: {error}") from None
    if head == PARQUET_MAGIC:
        return "parquet"
    return detect_text_format(read_text(path))


def load_candles(
    path: str | Path,
    *,
    format: Format = "auto",
    instrument: str | None = None,
    timeframe: str | None = None,
    timezone: str | None = None,
    strict: bool = True,
) -> CandleSeries:
    """Read a candle file into a :class:`CandleSeries` (see the module docstring).

    ``instrument`` defaults to a name taken from the file name; ``timeframe`` (``"1m"``)
    defaults to the most common spacing of the bars. Every failure is a
    :class:`~moonlight.core.data.errors.DataError`.
    """
    file = Path(path)
    if format not in FORMATS:
        raise DataFormatError(f"unknown format {format!r}; one of {', '.join(FORMATS)}")
    kind = detect_format(file) if format == "auto" else format
    if kind == "parquet":
        columns = read_parquet(file, timezone)
    else:
        text = read_text(file)
        if kind == "histdata":
            columns = read_histdata(text, file, timezone or HISTDATA_TIMEZONE)
        elif kind in ("mt4", "mt5"):
            if timezone is None:
                raise DataFormatError(
                    f"{file}: MetaTrader exports are in the broker's server time; pass"
                    " timezone= (e.g. 'Europe/Athens' for EET with DST, 'UTC')"
                )
            reader = read_mt4 if kind == "mt4" else read_mt5
            columns = reader(text, file, timezone)
        else:
            columns = read_generic(text, file, timezone)
    try:
        seconds = (
            timeframe_seconds(timeframe) if timeframe else infer_timeframe_s(columns["start_ts"])
        )
    except ValueError as error:
        raise DataFormatError(f"{file}: {error}") from None
    series = CandleSeries.from_arrays(
        instrument or instrument_from_name(file), seconds, columns, source=str(file)
    )
    if strict and not series.report.ok:
        raise DataValidationError(
            f"{file}: the candles have problems (strict=False loads them anyway):\n"
            + series.report.format(limit=10),
            series.report,
        )
    return series


__all__ = ["DataError", "load_candles"]
