"""Access to the real 1-minute candles in ``../shared/data`` (beside the project root).

The files are test fixtures only and are never copied into the repository. When the
folder is absent (a user's fresh clone), tests that need them are skipped with a reason.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
EURUSD = "EURUSD_M1_2017H1_histdata.csv.gz"
BTCUSDT = "BTCUSDT_1m_2023_binance.csv.gz"


@cache
def _load(name: str) -> pd.DataFrame:
    frame = pd.read_csv(SHARED_DATA / name, parse_dates=["timestamp"], index_col="timestamp")
    return frame.astype("float64")


def real_candles(name: str) -> pd.DataFrame:
    """OHLCV candles (float64 columns open, high, low, close, volume; UTC index).

    Skips the calling test when ../shared/data is absent. The frame is shared between
    tests: copy it before changing it.
    """
    if not (SHARED_DATA / name).exists():
        pytest.skip(f"real candle file {name} absent: ../shared/data is not beside the project")
    return _load(name)
