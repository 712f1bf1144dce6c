"""obv, ad, adosc, vwap and rvol against TA-Lib 0.8.2, zero volume included.

The EURUSD candles have volume 0 on every bar, so they exercise each indicator's
zero-volume path on real prices: ad and adosc stay flat, TA-Lib's cumulative vwap stays
0.0, rvol is 0/0 = NaN. Input cases and helpers come from ``test_volatility``.
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
    as_tuple,
    check_against_talib,
    check_stream,
    grid,
    inputs_of,
    random_bars,
    real_bars,
    unstable_reset,  # noqa: F401  (fixture)
    walk,
)
from tests.support.market_data import BTCUSDT, EURUSD

TABLE: dict[str, list[dict[str, Any]]] = {
    "obv": [{}],
    "ad": [{}],
    "adosc": [
        {},
        {"fastperiod": 10, "slowperiod": 3},
        {"fastperiod": 2, "slowperiod": 2},
        {"fastperiod": 5, "slowperiod": 30},
    ],
    "vwap": [{}],
    "rvol": [{}, {"timeperiod": 1}, {"timeperiod": 5}],
}
PARAMS = grid(TABLE)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(("name", "kw"), PARAMS)
def test_matches_talib(name: str, kw: dict[str, Any], case: str) -> None:
    check_against_talib(name, kw, CASES[case], case)


@pytest.mark.parametrize("candles", [EURUSD, BTCUSDT])
@pytest.mark.parametrize(("name", "kw"), PARAMS)
def test_matches_talib_on_real_candles(name: str, kw: dict[str, Any], candles: str) -> None:
    check_against_talib(name, kw, real_bars(candles), candles)


def test_zero_volume_behaviour_on_eurusd() -> None:
    """The documented zero-volume results, on the real EURUSD candles."""
    bars = real_bars(EURUSD)
    assert not bars["volume"].any()
    h, lo, c, v = bars["high"], bars["low"], bars["close"], bars["volume"]
    assert (mi.ad(h, lo, c, v) == 0.0).all()
    assert (mi.vwap(h, lo, c, v) == 0.0).all()
    assert np.isnan(mi.rvol(v)).all()
    assert (mi.obv(c, v) == 0.0).all()
    assert np.nan_to_num(mi.adosc(h, lo, c, v), nan=0.0).max() == 0.0


@pytest.mark.parametrize("value", [0, 4])
def test_adosc_unstable_period_matches_talib(value: int, unstable_reset: Any) -> None:  # noqa: F811
    unstable_reset("EMA", value)
    for case in ("walk", "nan_run", "leading_nan", "shorter_than_warmup"):
        check_against_talib("adosc", {}, CASES[case], f"{case} unstable={value}")
        check_stream("adosc", {}, CASES[case], f"{case} unstable={value}")
    assert next(s for s in mi.catalog() if s.name == "adosc").warmup() == 9 + value


STREAM_CASES = sorted(set(CASES) - {"all_nan"})


@pytest.mark.parametrize("case", STREAM_CASES)
@pytest.mark.parametrize(("name", "kw"), PARAMS)
def test_stream_equals_batch(name: str, kw: dict[str, Any], case: str) -> None:
    check_stream(name, kw, CASES[case], case)


@pytest.mark.parametrize("name", sorted(TABLE))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_stream_equals_batch_property(name: str, data: st.DataObject) -> None:
    bars = random_bars(data)
    if data.draw(st.booleans(), label="zero volume run") and len(bars["volume"]) > 10:
        bars["volume"][3:10] = 0.0
    kw = data.draw(st.sampled_from(TABLE[name]), label="params")
    check_stream(name, kw, bars, "hypothesis")


@pytest.mark.parametrize(("name", "kw"), PARAMS)
def test_two_dimensional_equals_columns(name: str, kw: dict[str, Any]) -> None:
    columns = [walk(250, seed=s) for s in range(4)]
    columns[1]["volume"][30:60] = 0.0
    columns[2]["close"][:5] = np.nan
    n_inputs = len(inputs_of(name, columns[0]))
    matrix = [np.column_stack([inputs_of(name, c)[i] for c in columns]) for i in range(n_inputs)]
    result = as_tuple(getattr(mi, name)(*matrix, **kw))
    for j, bars in enumerate(columns):
        one = as_tuple(getattr(mi, name)(*inputs_of(name, bars), **kw))
        for m, o in zip(result, one, strict=True):
            np.testing.assert_array_equal(m[:, j], o, err_msg=f"{name} column {j}")


def test_rvol_stream_divides_like_c() -> None:
    """0/0 and x/0 give NaN and inf in the stream too (Python would raise)."""
    stream = ms.rvol(timeperiod=2)
    assert [stream.update(v) for v in (0.0, 0.0)] == [pytest.approx(np.nan, nan_ok=True)] * 2
    assert np.isnan(stream.update(0.0))
    assert stream.update(5.0) == np.inf


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("adosc", {"fastperiod": 1}),
        ("adosc", {"slowperiod": 0}),
        ("rvol", {"timeperiod": 0}),
    ],
)
def test_invalid_parameters_raise(name: str, kw: dict[str, Any]) -> None:
    bars = walk(50)
    with pytest.raises(ValueError, match=next(iter(kw))):
        getattr(mi, name)(*inputs_of(name, bars), **kw)
