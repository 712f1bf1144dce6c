"""ha (Heikin-Ashi, alias heikin_ashi) against TA-Lib 0.8.2, unstable period included.

Input cases and helpers come from ``test_volatility``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import moonlight.indicators as mi
from moonlight.indicators import stream as ms
from tests.indicators.test_volatility import (
    CASES,
    check_against_talib,
    check_stream,
    random_bars,
    real_bars,
    unstable_reset,  # noqa: F401  (fixture)
    walk,
)
from tests.support.market_data import BTCUSDT, EURUSD


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_talib(case: str) -> None:
    check_against_talib("ha", {}, CASES[case], case)


@pytest.mark.parametrize("candles", [EURUSD, BTCUSDT])
def test_matches_talib_on_real_candles(candles: str) -> None:
    check_against_talib("ha", {}, real_bars(candles), candles)


@pytest.mark.parametrize("value", [0, 1, 7])
def test_unstable_period_matches_talib(value: int, unstable_reset: Any) -> None:  # noqa: F811
    unstable_reset("HA", value)
    for case in ("walk", "nan_run", "leading_nan", "shorter_than_warmup", "one_bar"):
        check_against_talib("ha", {}, CASES[case], f"{case} unstable={value}")
        check_stream("ha", {}, CASES[case], f"{case} unstable={value}")
    assert next(s for s in mi.catalog() if s.name == "ha").warmup() == value


def test_signed_zeros_keep_talib_bytes() -> None:
    """Comparisons, not max/min: a bar of signed zeros gives TA-Lib's exact bytes."""
    import talib

    o = np.array([-0.0, 0.0])
    h = np.array([0.0, 0.0])
    lo = np.array([-0.0, -0.0])
    c = np.array([-0.0, 0.0])
    for ours, ref in zip(mi.ha(o, h, lo, c), talib.HA(o, h, lo, c), strict=True):
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(ref))


@pytest.mark.parametrize("case", sorted(set(CASES) - {"all_nan"}))
def test_stream_equals_batch(case: str) -> None:
    check_stream("ha", {}, CASES[case], case)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_stream_equals_batch_property(data: st.DataObject) -> None:
    check_stream("ha", {}, random_bars(data), "hypothesis")


def test_alias_two_dimensional_and_pandas() -> None:
    import pandas as pd

    assert mi.heikin_ashi is mi.ha
    assert ms.heikin_ashi is ms.ha
    columns = [walk(200, seed=s) for s in range(3)]
    keys = ("open", "high", "low", "close")
    matrix = [np.column_stack([c[k] for c in columns]) for k in keys]
    result = mi.ha(*matrix)
    for j, bars in enumerate(columns):
        for m, o in zip(result, mi.ha(*(bars[k] for k in keys)), strict=True):
            np.testing.assert_array_equal(m[:, j], o)
    frame = pd.DataFrame(columns[0])
    out = mi.ha(frame["open"], frame["high"], frame["low"], frame["close"])
    assert [s.name for s in out] == ["haopen", "hahigh", "halow", "haclose"]
    assert all(s.index.equals(frame.index) for s in out)


def test_heikin_ashi_definition() -> None:
    """The documented formulas, spelled out on three bars."""
    o = np.array([10.0, 11.0, 12.0])
    h = np.array([12.0, 13.0, 12.5])
    lo = np.array([9.0, 10.0, 11.0])
    c = np.array([11.0, 12.0, 11.5])
    haopen, hahigh, halow, haclose = mi.ha(o, h, lo, c)
    expected_close = (o + h + lo + c) / 4.0
    np.testing.assert_array_equal(haclose, expected_close)
    assert haopen[0] == (o[0] + c[0]) / 2.0
    assert haopen[1] == (haopen[0] + haclose[0]) / 2.0
    assert haopen[2] == (haopen[1] + haclose[1]) / 2.0
    np.testing.assert_array_equal(hahigh, np.maximum.reduce([h, haopen, haclose]))
    np.testing.assert_array_equal(halow, np.minimum.reduce([lo, haopen, haclose]))
