"""Resampling to longer timeframes, epoch-aligned, checked against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.errors import DataError, DataValidationError
from moonlight.core.data.load import load_candles
from moonlight.core.data.resample import resample
from tests.support.market_data import BTCUSDT, SHARED_DATA, real_candles

T0 = 1_704_067_200.0


def minutes(count: int, *, skip: tuple[int, ...] = ()) -> CandleSeries:
    rng = np.random.default_rng(7)
    index = [i for i in range(count) if i not in skip]
    close = 100 + np.cumsum(rng.normal(size=len(index)))
    return CandleSeries.from_arrays(
        "X",
        60,
        {
            "start_ts": [T0 + 60 * i for i in index],
            "open": close - 0.1,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": rng.uniform(1, 5, len(index)),
        },
    )


def pandas_resample(series: CandleSeries, rule: str) -> pd.DataFrame:
    frame = series.to_frame()
    out = frame.resample(rule, origin="epoch", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    return out.dropna(subset=["open"])


@pytest.mark.parametrize("rule", ["5m", "15m", "1h"])
def test_matches_pandas_with_gaps(rule: str) -> None:
    source = minutes(500, skip=(3, 4, 17, 100, 101, 102, 103, 104, 105, 250))
    ours = resample(source, rule)
    theirs = pandas_resample(source, rule.replace("m", "min"))
    np.testing.assert_array_equal(ours.start_ts, theirs.index.as_unit("s").asi8.astype(float))
    for column in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(ours, column), theirs[column].to_numpy())
    np.testing.assert_allclose(ours.volume, theirs["volume"].to_numpy(), rtol=1e-12)


def test_complete_only_drops_partial_bars() -> None:
    source = minutes(20, skip=(7,))
    assert len(resample(source, "5m")) == 4
    full = resample(source, "5m", complete_only=True)
    assert full.start_ts.tolist() == [T0, T0 + 600, T0 + 900]


def test_refuses_what_it_cannot_do() -> None:
    with pytest.raises(DataError, match="multiple"):
        resample(minutes(10), "90s")
    with pytest.raises(DataError, match="multiple"):
        resample(minutes(10), "30s")
    backwards = CandleSeries.from_arrays(
        "X",
        60,
        {"start_ts": [T0 + 60, T0], "open": [1, 1], "high": [1, 1], "low": [1, 1], "close": [1, 1]},
    )
    with pytest.raises(DataValidationError):
        resample(backwards, "5m")


def test_real_btcusdt_to_five_minutes() -> None:
    real_candles(BTCUSDT)
    source = load_candles(SHARED_DATA / BTCUSDT)
    ours = resample(source, "5m")
    theirs = pandas_resample(source, "5min")
    assert len(ours) == len(theirs)
    np.testing.assert_array_equal(ours.close, theirs["close"].to_numpy())
