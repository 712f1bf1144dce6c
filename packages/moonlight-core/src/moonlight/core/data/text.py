"""Reading candle text files: gzip detection, delimiters, numbers and times.

Shared by the CSV-like formats in :mod:`moonlight.core.data.csv_formats`. Every failure
is a :class:`~moonlight.core.data.errors.DataFormatError` that names the file and the
1-based line; the happy path converts whole columns at once (numpy), and only a column
that fails is walked row by row to find the line to report.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from moonlight.core.data.errors import DataFormatError
from moonlight.core.data.timezones import local_to_utc, utc_offset_s

FloatArray = npt.NDArray[np.float64]
GZIP_MAGIC = b"\x1f\x8b"
#: Largest file read (decompressed), bytes: a bound, so a hostile gzip cannot fill memory.
MAX_TEXT_BYTES = 2_000_000_000
_OFFSET = re.compile(r"(Z|z|[+-]\d{2}(?::?\d{2})?)$")
_DATE_TIME_SPACE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d)")


def read_text(path: Path) -> str:
    """The file's text; gzip is recognised by its magic bytes, not by the name."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
        if head == GZIP_MAGIC:
            with gzip.open(path, "rb") as packed:
                raw = packed.read(MAX_TEXT_BYTES + 1)
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataFormatError(f"{path}: cannot read: {error}") from None
    if len(raw) > MAX_TEXT_BYTES:
        raise DataFormatError(f"{path}: larger than {MAX_TEXT_BYTES} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFormatError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None


def first_line(text: str) -> str:
    """The first non-blank line (stripped), or ""."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def sniff_delimiter(line: str) -> str:
    """The most frequent of ``,`` ``;`` and tab in ``line`` (comma when none)."""
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of a delimited file, column by column: ``columns[k][i]`` is field k of row i.

    ``lines`` holds each row's 1-based line number, for messages.
    """

    lines: list[int]
    columns: list[list[str]]

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def width(self) -> int:
        return len(self.columns)

    def row(self, index: int) -> list[str]:
        return [column[index] for column in self.columns]

    def body(self) -> Table:
        """The rows after the first (the first being a header)."""
        return Table(self.lines[1:], [column[1:] for column in self.columns])


def read_table(text: str, delimiter: str, path: Path) -> Table:
    """Non-blank rows of ``text`` as a :class:`Table`; every row must have as many fields
    as the first. Unquoted text (the usual case) is split in one pass; a file with
    quotes goes through the :mod:`csv` module. Fields keep surrounding blanks (numbers
    parse with them; time columns are stripped by their readers)."""
    if '"' in text:
        return _quoted_table(text, delimiter, path)
    raw = text.splitlines()
    lines = [n for n, line in enumerate(raw, 1) if line and not line.isspace()]
    kept = raw if len(lines) == len(raw) else [raw[n - 1] for n in lines]
    if not kept:
        return Table([], [])
    width = kept[0].count(delimiter) + 1
    flat = delimiter.join(kept).split(delimiter)
    if len(flat) != width * len(kept):
        for number, line in zip(lines, kept, strict=True):
            found = line.count(delimiter) + 1
            if found != width:
                raise DataFormatError(
                    f"{path}:{number}: expected {width} fields like line {lines[0]}, found {found}"
                )
    return Table(lines, [flat[k::width] for k in range(width)])


def _quoted_table(text: str, delimiter: str, path: Path) -> Table:
    lines: list[int] = []
    rows: list[list[str]] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for fields in reader:
            if not fields or all(not f.strip() for f in fields):
                continue
            if rows and len(fields) != len(rows[0]):
                raise DataFormatError(
                    f"{path}:{reader.line_num}: expected {len(rows[0])} fields like line"
                    f" {lines[0]}, found {len(fields)}"
                )
            lines.append(reader.line_num)
            rows.append(fields)
    except csv.Error as error:
        raise DataFormatError(f"{path}: malformed CSV: {error}") from None
    if not rows:
        return Table([], [])
    return Table(lines, [list(column) for column in zip(*rows, strict=True)])


def require_width(table: Table, width: int, path: Path) -> None:
    """The table has at least ``width`` fields per row."""
    if table.width < width:
        line = table.lines[0] if table.lines else 0
        raise DataFormatError(f"{path}:{line}: expected {width} fields, found {table.width}")


def numbers(values: Sequence[str], lines: Sequence[int], column: str, path: Path) -> FloatArray:
    """A float64 column; the first unparsable value is reported with its line."""
    try:
        return np.array(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        pass
    for value, line in zip(values, lines, strict=True):
        try:
            float(value)
        except (ValueError, OverflowError):
            raise DataFormatError(f"{path}:{line}: {column} {value!r} is not a number") from None
    raise DataFormatError(f"{path}: column {column} cannot be read as numbers")


def iso_times(
    values: Sequence[str], lines: Sequence[int], timezone: str | None, path: Path
) -> FloatArray:
    """ISO-8601 date-times (optional ``Z``/offset) or epoch numbers → UTC epoch seconds.

    * digits only: epoch time; 13-digit-ish values are milliseconds, 16 microseconds,
      19 nanoseconds (by magnitude: ≥1e17 ns, ≥1e14 µs, ≥1e11 ms, else seconds);
    * with an offset on every value: converted with it (``timezone`` is ignored);
    * naive: read in ``timezone``, which must then be given.
    """
    if not values:
        return np.empty(0)
    if all(_is_number(v) for v in values):
        epoch = numbers(values, lines, "time", path)
        scale = np.where(
            np.abs(epoch) >= 1e17,
            1e9,
            np.where(np.abs(epoch) >= 1e14, 1e6, np.where(np.abs(epoch) >= 1e11, 1e3, 1.0)),
        )
        return np.asarray(epoch / scale, dtype=np.float64)
    if all(len(v) == 20 and v[10] == "T" and v[19] == "Z" for v in values):
        # MoonLight's own format (YYYY-MM-DDTHH:MM:SSZ): one vectorised parse
        return _datetime64_seconds([v[:19] for v in values], lines, path)
    offsets: list[int] = []
    naive: list[str] = []
    for value, line in zip(values, lines, strict=True):
        match = _OFFSET.search(value) if "T" in value or " " in value else None
        text = value
        if match is not None and match.start() >= 10:
            try:
                offsets.append(utc_offset_s(match.group(1)))
            except ValueError as error:
                raise DataFormatError(f"{path}:{line}: {error}") from None
            text = value[: match.start()]
        naive.append(_DATE_TIME_SPACE.sub(r"\1T\2", text.strip()))
    if offsets and len(offsets) != len(values):
        raise DataFormatError(f"{path}: some times carry a UTC offset and some do not")
    local = _datetime64_seconds(naive, lines, path)
    if offsets:
        return local - np.asarray(offsets, dtype=np.float64)
    if timezone is None:
        raise DataFormatError(
            f"{path}: times have no timezone (no 'Z' or offset); pass the timezone they are"
            " in explicitly (e.g. timezone='UTC' or 'Europe/Athens')"
        )
    whole = np.floor(local).astype(np.int64)
    return local_to_utc(whole, timezone).astype(np.float64) + (local - whole)


def _is_number(value: str) -> bool:
    body = value[1:] if value[:1] in "+-" else value
    return bool(body) and body.replace(".", "", 1).isdigit()


def _datetime64_seconds(values: Sequence[str], lines: Sequence[int], path: Path) -> FloatArray:
    """Naive ISO strings → seconds since the epoch as if they were UTC (ms precision).

    numpy reads a trailing ``-05`` as a timezone (with a warning); here every warning is
    a parse failure, reported with its line like any other.
    """
    parsed = _parse(values)
    if parsed is None or np.isnat(parsed).any():
        for value, line in zip(values, lines, strict=True):
            single = _parse([value])
            if single is None or np.isnat(single).any():
                raise DataFormatError(f"{path}:{line}: {value!r} is not a date-time") from None
        raise DataFormatError(f"{path}: times cannot be parsed")
    return parsed.astype(np.int64).astype(np.float64) / 1e3


def _parse(values: Sequence[str]) -> npt.NDArray[np.datetime64] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return np.array(values, dtype="datetime64[ms]")
        except (ValueError, TypeError, OverflowError, Warning):
            return None


def combine_date_time(
    dates: Sequence[str], times: Sequence[str] | None, lines: Sequence[int], path: Path
) -> list[str]:
    """MetaTrader ``YYYY.MM.DD`` (+ ``HH:MM[:SS]``) as ISO strings."""
    combined: list[str] = []
    for i, (date, line) in enumerate(zip(dates, lines, strict=True)):
        if len(date) != 10 or date[4] not in ".-/" or date[7] != date[4]:
            raise DataFormatError(f"{path}:{line}: date {date!r} is not YYYY.MM.DD")
        iso = f"{date[:4]}-{date[5:7]}-{date[8:10]}"
        if times is not None:
            clock = times[i]
            if len(clock) == 5:
                clock += ":00"
            if len(clock) != 8 or clock[2] != ":" or clock[5] != ":":
                raise DataFormatError(f"{path}:{line}: time {clock!r} is not HH:MM[:SS]")
            iso = f"{iso}T{clock}"
        combined.append(iso)
    return combined
