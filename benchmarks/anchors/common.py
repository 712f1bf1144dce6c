"""What every contender script shares: the candle file, the warm-up rule and the report.

Each contender (``contender_*.py``) runs in its own interpreter -- often another
virtual environment with another Python -- so this module uses the standard library
only. A contender loads the file (not timed), runs its EMA 9/21 cross once on the first
:data:`WARMUP_BARS` bars (imports, JIT caches and first-call costs paid there), then
runs it on the whole file under the clock, and prints one JSON line: :func:`report`.

Bars per second always divide the number of bars in the file, so every contender is
measured against the same denominator whatever it counts internally.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Bars of the untimed warm-up run.
WARMUP_BARS = 2_000
#: The file's columns after the timestamp.
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
#: The cross every contender trades.
FAST, SLOW = 9, 21


@dataclass(frozen=True, slots=True)
class Candles:
    """The candle file as columns; ``time`` is the bar open, epoch seconds (UTC)."""

    time: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]

    def __len__(self) -> int:
        return len(self.time)

    def head(self, bars: int) -> Candles:
        """The first ``bars`` bars."""
        return Candles(*(column[:bars] for column in self.columns()))

    def columns(self) -> tuple[list[Any], ...]:
        """time, open, high, low, close, volume."""
        return (self.time, self.open, self.high, self.low, self.close, self.volume)


def load(path: str | Path, bars: int | None = None) -> Candles:
    """Read the gzip'd ``timestamp,open,high,low,close,volume`` file (ISO UTC times)."""
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            stamp = datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))
            columns[0].append(int(stamp.astimezone(UTC).timestamp()))
            for column, key in zip(columns[1:], PRICE_COLUMNS, strict=True):
                column.append(float(row[key]))
    candles = Candles(*columns)
    return candles.head(bars) if bars else candles


def measure(run: Callable[[T], int], warm: T, full: T, bars: int) -> dict[str, float | int]:
    """Run once on ``warm`` (the head of the file, untimed), then time ``run(full)``.

    ``warm`` and ``full`` are the contender's own form of the data, built before the
    clock starts; ``run`` returns the number of trades (or bets) it made; ``bars`` is
    the number of bars in ``full``.
    """
    run(warm)
    wall, cpu = time.perf_counter(), time.process_time()
    trades = run(full)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "bars": bars,
        "trades": trades,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "bars_per_second": bars / wall,
        "bars_per_cpu_second": bars / cpu if cpu > 0 else float("nan"),
    }


def report(contender: str, version: str, figures: dict[str, float | int]) -> None:
    """Print the contender's result as the last line of standard output."""
    line = {"contender": contender, "version": version,
            "python": sys.version.split()[0], **figures}  # fmt: skip
    print(json.dumps(line), flush=True)


def arguments(first: int = 1) -> tuple[Path, int | None]:
    """``contender_X.py [...] FILE [BARS]``: the candle file and an optional bar limit.

    ``first`` is the position of ``FILE`` in ``sys.argv``.
    """
    path = Path(sys.argv[first])
    bars = int(sys.argv[first + 1]) if len(sys.argv) > first + 1 else None
    return path, bars
