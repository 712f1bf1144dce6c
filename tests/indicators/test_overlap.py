"""Overlap studies against TA-Lib: the MA family, bbands, macd, linearreg and stoch.

Each indicator is compared on every standard data set (random walks, constant prices,
zero volume, a NaN run, short input, 1e-8 and 1e8 magnitudes) over a grid of
parameters that covers TA-Lib's edge cases: period 1 (a copy for most MAs), every MA
type, swapped MACD periods, unequal band widths, and the unstable-period setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import talib

import moonlight.indicators as mi
from moonlight.indicators import _declarations, _ma
from tests.indicators.oracle import (
    Bars,
    assert_matches_talib,
    nan_run,
    random_walk,
    standard_sets,
)
from tests.support.market_data import BTCUSDT, EURUSD, real_candles

MA_NAMES = ("sma", "ema", "wma", "dema", "tema", "trima", "kama", "t3")
MATYPES = (0, 1, 2, 3, 4, 5, 6, 8)

SETS = standard_sets()


@pytest.fixture
def unstable() -> Iterator[None]:
    """Restore TA-Lib's and MoonLight's unstable periods to 0 after the test."""
    yield
    for key in ("EMA", "KAMA", "T3"):
        talib.set_unstable_period(key, 0)
        mi.set_unstable_period(key, 0)


def _set_unstable(value: int) -> None:
    for key in ("EMA", "KAMA", "T3"):
        talib.set_unstable_period(key, value)
        mi.set_unstable_period(key, value)


@pytest.mark.parametrize("bars", SETS, ids=lambda b: b.name)
@pytest.mark.parametrize("name", MA_NAMES)
@pytest.mark.parametrize("timeperiod", [1, 2, 3, 7, 30])
def test_moving_averages_match_talib(name: str, timeperiod: int, bars: Bars) -> None:
    assert_matches_talib(name, bars.close, timeperiod=timeperiod)


@pytest.mark.parametrize("vfactor", [0.0, 0.35, 1.0])
def test_t3_volume_factor(vfactor: float) -> None:
    assert_matches_talib("t3", random_walk().close, timeperiod=4, vfactor=vfactor)


@pytest.mark.parametrize("name", ["ema", "dema", "tema", "kama", "t3"])
@pytest.mark.parametrize("timeperiod", [1, 5])
def test_unstable_period_matches_talib(unstable: None, name: str, timeperiod: int) -> None:
    _set_unstable(4)
    for bars in (random_walk(), nan_run()):
        assert_matches_talib(name, bars.close, timeperiod=timeperiod)
    warmup = getattr(mi, name).spec.warmup(timeperiod=timeperiod)
    assert np.isnan(getattr(mi, name)(random_walk().close, timeperiod)).sum() == warmup


def _bbands_grid() -> Iterator[dict[str, Any]]:
    for timeperiod in (2, 5, 20):
        for up, down in ((2.0, 2.0), (1.5, 2.5), (0.0, 1.0)):
            for matype in MATYPES:
                yield {"timeperiod": timeperiod, "nbdevup": up, "nbdevdn": down, "matype": matype}


@pytest.mark.parametrize("bars", SETS, ids=lambda b: b.name)
def test_bbands_matches_talib(bars: Bars) -> None:
    for params in _bbands_grid():
        assert_matches_talib("bbands", bars.close, **params)


@pytest.mark.parametrize("bars", SETS, ids=lambda b: b.name)
@pytest.mark.parametrize(
    ("fast", "slow", "signal"), [(12, 26, 9), (3, 5, 1), (26, 12, 9), (2, 2, 3)]
)
def test_macd_matches_talib(bars: Bars, fast: int, slow: int, signal: int) -> None:
    assert_matches_talib("macd", bars.close, fastperiod=fast, slowperiod=slow, signalperiod=signal)


@pytest.mark.parametrize("bars", SETS, ids=lambda b: b.name)
@pytest.mark.parametrize("timeperiod", [2, 3, 14, 30])
def test_linearreg_matches_talib(bars: Bars, timeperiod: int) -> None:
    assert_matches_talib("linearreg", bars.close, timeperiod=timeperiod)


def test_linearreg_and_wma_recover_after_nan_like_talib() -> None:
    """TA-Lib rebuilds their running sums periodically: NaN mid-series is forgotten."""
    values = random_walk(2000).close.copy()
    values[100] = np.nan
    for name, period in (("wma", 3), ("linearreg", 4)):
        result = getattr(mi, name)(values, period)
        assert np.isfinite(result[-1])
        assert_matches_talib(name, values, timeperiod=period)


@pytest.mark.parametrize("bars", SETS, ids=lambda b: b.name)
@pytest.mark.parametrize(("fastk", "slowk", "slowd"), [(5, 3, 3), (1, 1, 1), (14, 5, 4)])
def test_stoch_matches_talib(bars: Bars, fastk: int, slowk: int, slowd: int) -> None:
    for k_type, d_type in ((0, 0), (1, 3), (6, 8), (5, 2), (4, 4)):
        assert_matches_talib(
            "stoch",
            bars.high,
            bars.low,
            bars.close,
            fastk_period=fastk,
            slowk_period=slowk,
            slowk_matype=k_type,
            slowd_period=slowd,
            slowd_matype=d_type,
        )


def test_composites_follow_unstable_periods(unstable: None) -> None:
    _set_unstable(3)
    bars = random_walk()
    assert_matches_talib("bbands", bars.close, timeperiod=5, matype=1)
    assert_matches_talib("macd", bars.close)
    assert_matches_talib("stoch", bars.high, bars.low, bars.close, slowk_matype=6, slowd_matype=8)


@pytest.mark.parametrize("file", [EURUSD, BTCUSDT])
def test_real_candles_match_talib(file: str) -> None:
    frame = real_candles(file).iloc[:20_000]
    high = frame["high"].to_numpy()
    low = frame["low"].to_numpy()
    close = frame["close"].to_numpy()
    for name in MA_NAMES:
        assert_matches_talib(name, close, timeperiod=20)
    assert_matches_talib("bbands", close, timeperiod=20)
    assert_matches_talib("macd", close)
    assert_matches_talib("linearreg", close)
    assert_matches_talib("stoch", high, low, close)


@pytest.mark.parametrize("name", ["bbands", "stoch"])
def test_mama_is_refused_with_a_clear_error(name: str) -> None:
    bars = random_walk(50)
    with pytest.raises(ValueError, match="MAMA"):
        if name == "bbands":
            mi.bbands(bars.close, matype=7)
        else:
            mi.stoch(bars.high, bars.low, bars.close, slowd_matype=7)
    with pytest.raises(ValueError, match="MAMA"):
        mi.stream.bbands(matype=7)


def test_ma_core_dispatch_equals_the_named_kernels() -> None:
    """``_ma.ma_core`` (what composites call) gives each MA type's own result."""
    values = random_walk(300).close
    by_type = dict(zip(MATYPES, MA_NAMES, strict=True))
    for matype, name in by_type.items():
        expected = getattr(mi, name)(values, 9)
        lookback = _declarations.ma_lookback(9, matype)
        out = np.full(values.shape[0], np.nan)
        first, count = _ma.ma_core(
            values, 0, values.shape[0] - 1, 9, matype, 0, 0, 0, out[lookback:]
        )
        assert (first, count) == (lookback, values.shape[0] - lookback), name
        np.testing.assert_array_equal(out, expected, err_msg=name)


@pytest.mark.parametrize("timeperiod", [2, 3, 5, 10])
def test_kama_on_plateaus_matches_talib(timeperiod: int) -> None:
    """A flat window must sum its changes to exactly 0 (efficiency 1), as TA-Lib's KAMA
    does by rebuilding the sum when a large change leaves the window."""
    steps = np.r_[np.full(12, 100.0), np.linspace(0.0, 100.0, 9), np.full(15, 100.0)]
    values = np.r_[steps, np.zeros(10), random_walk(60).close, np.full(8, 41.6386771)]
    assert_matches_talib("kama", values, timeperiod=timeperiod)
    stream = mi.stream.kama(timeperiod=timeperiod)
    np.testing.assert_array_equal(stream.run(values), mi.kama(values, timeperiod))
