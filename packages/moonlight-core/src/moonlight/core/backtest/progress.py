"""A dependency-free progress bar for long backtests.

On a terminal it redraws one line (``\\r``): a bar, percent, bars done, bars per second
and the time left. Anywhere else (a log file, CI) it writes a line every 10 % so the
output stays readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30


class ProgressBar:
    """Call it with ``(done, total)``; :meth:`close` ends the line."""

    def __init__(self, stream: TextIO | None = None, *, label: str = "backtest") -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._started: float | None = None
        self._last_tenth = -1
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if self._started is None:
            self._started = time.perf_counter()
        fraction = done / total if total > 0 else 1.0
        elapsed = time.perf_counter() - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (total - done) / rate if rate > 0 else float("nan")
        text = (
            f"{self.label} {fraction * 100:5.1f}%  {done:,}/{total:,} bars"
            f"  {rate:,.0f} bars/s  ETA {left:,.0f} s"
        )
        if self.interactive:
            filled = int(BAR_WIDTH * min(1.0, fraction))
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\r[{bar}] {text}")
            self.stream.flush()
            self._drawn = True
            return
        tenth = int(min(1.0, fraction) * 10)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Finish the line on a terminal."""
        if self.interactive and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
