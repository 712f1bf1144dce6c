"""Parquet candle files, read through pandas with pyarrow (an optional dependency).

The columns follow the generic CSV's names (``timestamp`` or ``start_ts`` plus
``open, high, low, close[, volume]``); a timezone-aware timestamp column is converted
to UTC, a naive one is read in ``timezone`` (which must be given), numbers are epoch
seconds. Without pyarrow, :func:`read_parquet` raises
:class:`~moonlight.core.data.errors.MissingDependencyError` naming the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from moonlight.core.data.errors import DataFormatError, MissingDependencyError
from moonlight.core.data.optional import pandas
from moonlight.core.data.text import FloatArray
from moonlight.core.data.timezones import local_to_utc

PARQUET_MAGIC = b"PAR1"
REQUIRED_PACKAGE = "pyarrow"


def read_parquet(path: Path, timezone: str | None) -> dict[str, FloatArray]:
    """Columns of a Parquet file; see the module docstring."""
    if importlib.util.find_spec(REQUIRED_PACKAGE) is None:
        raise MissingDependencyError(
            f"{path}: reading Parquet needs the {REQUIRED_PACKAGE!r} package, which is not"
            f" installed (pip install {REQUIRED_PACKAGE})"
        )
    pd = pandas()
    try:
        frame = pd.read_parquet(path, engine=REQUIRED_PACKAGE)
    except (OSError, ValueError) as error:
        raise DataFormatError(f"{path}: cannot read Parquet: {error}") from None
    lowered = {str(c).lower(): c for c in frame.columns}
    columns: dict[str, FloatArray] = {}
    for name in ("open", "high", "low", "close", "volume"):
        if name in lowered:
            columns[name] = frame[lowered[name]].to_numpy(dtype=np.float64)
        elif name == "volume":
            columns[name] = np.zeros(len(frame))
        else:
            raise DataFormatError(f"{path}: no {name!r} column")
    if "start_ts" in lowered:
        columns["start_ts"] = frame[lowered["start_ts"]].to_numpy(dtype=np.float64)
        return columns
    times = frame[lowered["timestamp"]] if "timestamp" in lowered else frame.index
    index = pd.DatetimeIndex(times)
    if index.tz is None:
        if timezone is None:
            raise DataFormatError(f"{path}: naive timestamps; pass the timezone they are in")
        local = index.as_unit("s").asi8.astype(np.int64)
        columns["start_ts"] = local_to_utc(local, timezone).astype(np.float64)
    else:
        columns["start_ts"] = index.tz_convert("UTC").as_unit("ns").asi8 / 1e9
    return columns
