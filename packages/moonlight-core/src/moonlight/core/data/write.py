"""Write a :class:`~moonlight.core.data.candles.CandleSeries` as MoonLight's candle CSV.

The format every MoonLight tool reads without options: header
``timestamp,open,high,low,close,volume``, ``timestamp`` the bar open time in UTC as
``YYYY-MM-DDTHH:MM:SSZ``, numbers in Python's shortest round-trip form (so reading the
file back gives the same floats bit for bit). A ``.gz`` suffix writes gzip.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

from moonlight.core.data.candles import CandleSeries


def write_csv(series: CandleSeries, path: str | Path) -> Path:
    """Write ``series`` to ``path`` (see the module docstring); returns the path."""
    target = Path(path)
    lines = ["timestamp,open,high,low,close,volume"]
    columns = zip(
        series.start_ts.tolist(),
        series.open.tolist(),
        series.high.tolist(),
        series.low.tolist(),
        series.close.tolist(),
        series.volume.tolist(),
        strict=True,
    )
    for ts, o, h, lo, c, v in columns:
        stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"{stamp},{o!r},{h!r},{lo!r},{c!r},{v!r}")
    text = "\n".join(lines) + "\n"
    if target.suffix == ".gz":
        with gzip.open(target, "wt", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        target.write_text(text, encoding="utf-8", newline="")
    return target
