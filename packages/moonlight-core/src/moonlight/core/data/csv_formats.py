"""The text formats: generic OHLCV CSV, HistData ASCII, MetaTrader 4 and 5 exports.

Each reader turns a file's text into columns (``start_ts`` in UTC epoch seconds plus
OHLCV float arrays). They differ only in layout and in where the time comes from:

==============  =====================================================  ===================
format          layout                                                 times
==============  =====================================================  ===================
``csv``         header row naming ``timestamp`` (or ``time``, ``date``,  ISO-8601 with ``Z``
                ``datetime``, ``open_time``; or ``date`` + ``time``)   or offset, epoch
                and ``open, high, low, close[, volume]``; ``,`` ``;``   numbers, or naive
                or tab                                                 in ``timezone``
``histdata``    ``YYYYMMDD HHMMSS;open;high;low;close;volume``, no      naive; HistData
                header (HistData.com "Generic ASCII" M1 bars)          documents EST
                                                                       without DST
``mt4``         ``YYYY.MM.DD,HH:MM,open,high,low,close,volume``, no     broker server time
                header (MetaTrader 4 History Center export)            (name it)
``mt5``         tab-separated, header ``<DATE> <TIME> <OPEN> <HIGH>``  broker server time
                ``<LOW> <CLOSE> <TICKVOL> <VOL> <SPREAD>`` (MT5 export) (name it)
==============  =====================================================  ===================
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from moonlight.core.data.errors import DataFormatError
from moonlight.core.data.text import (
    FloatArray,
    Table,
    combine_date_time,
    first_line,
    iso_times,
    numbers,
    read_table,
    require_width,
    sniff_delimiter,
)

Columns = dict[str, FloatArray]

#: Header names accepted for the time column (lower-case, ``<>`` stripped).
TIME_NAMES = ("timestamp", "time", "datetime", "date_time", "open_time", "date")
ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "tick_volume", "tickvol", "real_volume"),
}
HISTDATA_TIME = re.compile(r"^\d{8} \d{6}$")
MT4_LINE = re.compile(r"^\d{4}\.\d{2}\.\d{2}[,;\t]\d{2}:\d{2}")
HISTDATA_LINE = re.compile(r"^\d{8} \d{6}[;,]")


def detect_text_format(text: str) -> str:
    """``histdata``, ``mt4``, ``mt5`` or ``csv`` from the first non-blank line."""
    line = first_line(text)
    if line.upper().startswith("<DATE>"):
        return "mt5"
    if HISTDATA_LINE.match(line):
        return "histdata"
    if MT4_LINE.match(line):
        return "mt4"
    return "csv"


def _table(text: str, path: Path) -> Table:
    table = read_table(text, sniff_delimiter(first_line(text)), path)
    if not len(table):
        raise DataFormatError(f"{path}: empty file")
    return table


def _prices(table: Table, indexes: dict[str, int | None], path: Path) -> Columns:
    columns: Columns = {}
    for name in ("open", "high", "low", "close", "volume"):
        index = indexes.get(name)
        if index is None:
            columns[name] = np.zeros(len(table))
        else:
            columns[name] = numbers(table.columns[index], table.lines, name, path)
    return columns


def _stripped(values: list[str]) -> list[str]:
    return [value.strip() for value in values]


def _header(table: Table, path: Path) -> tuple[list[str], Table]:
    names = [h.strip().strip("<>").strip().lower().replace(" ", "_") for h in table.row(0)]
    if len(set(names)) != len(names):
        raise DataFormatError(f"{path}:{table.lines[0]}: repeated column names {names!r}")
    body = table.body()
    if not len(body):
        raise DataFormatError(f"{path}: no rows after the header")
    return names, body


def read_generic(text: str, path: Path, timezone: str | None) -> Columns:
    """A CSV with a header; see the module table."""
    table = _table(text, path)
    names, body = _header(table, path)
    indexes: dict[str, int | None] = {}
    for column, aliases in ALIASES.items():
        indexes[column] = next((names.index(a) for a in aliases if a in names), None)
        if indexes[column] is None and column != "volume":
            raise DataFormatError(f"{path}:{table.lines[0]}: no {column!r} column in {names!r}")
    lines = body.lines
    if "date" in names and "time" in names:
        dates = _stripped(body.columns[names.index("date")])
        clocks = _stripped(body.columns[names.index("time")])
        if all(len(d) == 10 and d[4] == "." for d in dates):
            stamps = combine_date_time(dates, clocks, lines, path)
        else:
            stamps = [f"{d}T{c}" for d, c in zip(dates, clocks, strict=True)]
    else:
        time_index = next((names.index(n) for n in TIME_NAMES if n in names), None)
        if time_index is None:
            raise DataFormatError(
                f"{path}:{table.lines[0]}: no time column (one of {', '.join(TIME_NAMES)})"
            )
        stamps = _stripped(body.columns[time_index])
    columns = _prices(body, indexes, path)
    columns["start_ts"] = iso_times(stamps, lines, timezone, path)
    return columns


def read_histdata(text: str, path: Path, timezone: str) -> Columns:
    """HistData.com Generic ASCII M1 bars; see the module table."""
    table = _table(text, path)
    require_width(table, 5, path)
    stamps: list[str] = []
    for line, stamp in zip(table.lines, _stripped(table.columns[0]), strict=True):
        if not HISTDATA_TIME.match(stamp):
            raise DataFormatError(f"{path}:{line}: {stamp!r} is not 'YYYYMMDD HHMMSS'")
        stamps.append(
            f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}"
        )
    volume = 5 if table.width > 5 else None
    columns = _prices(table, {"open": 1, "high": 2, "low": 3, "close": 4, "volume": volume}, path)
    columns["start_ts"] = iso_times(stamps, table.lines, timezone, path)
    return columns


def read_mt4(text: str, path: Path, timezone: str) -> Columns:
    """A MetaTrader 4 History Center export; see the module table."""
    table = _table(text, path)
    require_width(table, 6, path)
    stamps = combine_date_time(
        _stripped(table.columns[0]), _stripped(table.columns[1]), table.lines, path
    )
    volume = 6 if table.width > 6 else None
    columns = _prices(table, {"open": 2, "high": 3, "low": 4, "close": 5, "volume": volume}, path)
    columns["start_ts"] = iso_times(stamps, table.lines, timezone, path)
    return columns


def read_mt5(text: str, path: Path, timezone: str) -> Columns:
    """A MetaTrader 5 export (tab-separated, ``<DATE>`` header); see the module table.

    Volume is ``<VOL>`` (real volume) when any bar has some, else ``<TICKVOL>``.
    """
    table = _table(text, path)
    names, body = _header(table, path)
    missing = [n for n in ("date", "open", "high", "low", "close") if n not in names]
    if missing:
        raise DataFormatError(f"{path}:{table.lines[0]}: missing {', '.join(missing)}")
    clocks = _stripped(body.columns[names.index("time")]) if "time" in names else None
    dates = _stripped(body.columns[names.index("date")])
    stamps = combine_date_time(dates, clocks, body.lines, path)
    indexes: dict[str, int | None] = {n: names.index(n) for n in ("open", "high", "low", "close")}
    columns = _prices(body, indexes, path)
    volumes = {
        name: numbers(body.columns[names.index(name)], body.lines, name, path)
        for name in ("vol", "tickvol")
        if name in names
    }
    if "vol" in volumes and np.any(volumes["vol"] != 0):
        columns["volume"] = volumes["vol"]
    elif "tickvol" in volumes:
        columns["volume"] = volumes["tickvol"]
    columns["start_ts"] = iso_times(stamps, body.lines, timezone, path)
    return columns
