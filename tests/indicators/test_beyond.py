"""ichimoku and anchored_vwap against slow, obvious references written here.

Neither is in TA-Lib, and the ``ta`` package (whose Ichimoku could serve as a second
opinion where definitions agree) is not installed, so each is checked against a
per-bar reference that recomputes every window from scratch with Python's max/min and
the calendar (``datetime``) rather than the kernels' deques and arithmetic.
"""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import moonlight.indicators as mi
from moonlight.indicators import stream as ms
from moonlight.indicators.beyond import (
    ANCHOR_DAY,
    ANCHOR_SESSION,
    ANCHOR_WEEK,
    epoch_seconds,
)
from tests.indicators.test_volatility import (
    CASES,
    assert_identical,
    check_stream,
    random_bars,
    real_bars,
    walk,
)
from tests.support.market_data import BTCUSDT, EURUSD, real_candles

# ---------------------------------------------------------------------------------------------
# slow references
# ---------------------------------------------------------------------------------------------


def first_complete_bar(*inputs: np.ndarray) -> int:
    """TA-Lib's rule: the first bar where no input is NaN, else the last bar."""
    n = len(inputs[0])
    for i in range(n):
        if not any(math.isnan(x[i]) for x in inputs):
            return i
    return n - 1


def reference_ichimoku(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    tenkanperiod: int = 9,
    kijunperiod: int = 26,
    senkouperiod: int = 52,
    displacement: int = 26,
) -> tuple[np.ndarray, ...]:
    """Every window recomputed with max()/min() over Python lists, bar by bar."""
    n = len(high)
    outs = tuple(np.full(n, np.nan) for _ in range(5))
    if n == 0:
        return outs
    first = first_complete_bar(high, low, close)

    def mid(period: int, t: int) -> float:
        start = t - period + 1
        if start < first:
            return math.nan
        highs = [float(x) for x in high[start : t + 1]]
        lows = [float(x) for x in low[start : t + 1]]
        if any(math.isnan(x) for x in highs + lows):
            return math.nan
        return (max(highs) + min(lows)) / 2.0

    lookback = max(tenkanperiod, kijunperiod, senkouperiod) - 1 + displacement
    for t in range(first + lookback, n):
        back = t - displacement
        outs[0][t] = mid(tenkanperiod, t)
        outs[1][t] = mid(kijunperiod, t)
        outs[2][t] = (mid(tenkanperiod, back) + mid(kijunperiod, back)) / 2.0
        outs[3][t] = mid(senkouperiod, back)
        outs[4][t] = close[t]
    return outs


def reference_anchored_vwap(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    timestamp: np.ndarray,
    anchor: int = ANCHOR_DAY,
    offset_s: float = 0.0,
    gap_s: float = 3600.0,
) -> np.ndarray:
    """Periods found with ``datetime`` (calendar day, ISO Monday) or by gaps, sums per bar."""
    n = len(high)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    first = first_complete_bar(high, low, close, volume, timestamp)
    period: Any = object()
    previous_time = math.nan
    sum_pv = sum_v = 0.0
    for i in range(first, n):
        ts = float(timestamp[i])
        if math.isfinite(ts):
            if anchor == ANCHOR_SESSION:
                new = not (ts - previous_time <= gap_s)
                previous_time = ts
            else:
                day = datetime.fromtimestamp(ts - offset_s, tz=UTC).date()
                key = day - timedelta(days=day.weekday()) if anchor == ANCHOR_WEEK else day
                new = key != period
                period = key
            if new:
                sum_pv = sum_v = 0.0
        typical = (high[i] + low[i] + close[i]) / 3.0
        if math.isfinite(typical) and math.isfinite(volume[i]):
            sum_pv += typical * volume[i]
            sum_v += volume[i]
        out[i] = sum_pv / sum_v if sum_v > 0.0 else math.nan
    return out


def minute_times(n: int, *, start: str = "2024-03-01T20:00:00", gaps: bool = True) -> np.ndarray:
    """Epoch seconds of 1-minute bars crossing several days, with a weekend-like gap."""
    times = datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp() + 60.0 * np.arange(n)
    if gaps and n > 400:
        times[400:] += 2 * 86400.0  # a two-day hole: a new day, week and session
        times[200:] += 5400.0  # a 90-minute pause: a new session only
    return times


# ---------------------------------------------------------------------------------------------
# ichimoku
# ---------------------------------------------------------------------------------------------

ICHIMOKU_PARAMS = [
    {},
    {"tenkanperiod": 3, "kijunperiod": 5, "senkouperiod": 8, "displacement": 4},
    {"tenkanperiod": 20, "kijunperiod": 5, "senkouperiod": 2, "displacement": 0},
    {"tenkanperiod": 1, "kijunperiod": 1, "senkouperiod": 1, "displacement": 1},
]


def check_ichimoku(bars: dict[str, np.ndarray], kw: dict[str, Any], label: str) -> None:
    ours = mi.ichimoku(bars["high"], bars["low"], bars["close"], **kw)
    ref = reference_ichimoku(bars["high"], bars["low"], bars["close"], **kw)
    assert_identical(ours, ref, f"{label} ichimoku{kw}")


@pytest.mark.parametrize("kw", ICHIMOKU_PARAMS, ids=lambda kw: "-".join(map(str, kw.values())))
@pytest.mark.parametrize("case", sorted(CASES))
def test_ichimoku_matches_reference(case: str, kw: dict[str, Any]) -> None:
    check_ichimoku(CASES[case], kw, case)


@pytest.mark.parametrize("candles", [EURUSD, BTCUSDT])
def test_ichimoku_matches_reference_on_real_candles(candles: str) -> None:
    bars = {k: v[:6000] for k, v in real_bars(candles).items()}
    check_ichimoku(bars, {}, candles)


def test_ichimoku_lines_by_hand() -> None:
    """Displacement convention on a tiny series: spans are the values d bars back."""
    high = np.array([10.0, 12.0, 11.0, 15.0, 14.0, 13.0, 16.0])
    low = high - 2.0
    close = high - 1.0
    kw = {"tenkanperiod": 2, "kijunperiod": 3, "senkouperiod": 4, "displacement": 2}
    tenkan, kijun, span_a, span_b, chikou = mi.ichimoku(high, low, close, **kw)
    lookback = 4 - 1 + 2
    assert np.isnan(tenkan[:lookback]).all() and not np.isnan(tenkan[lookback:]).any()
    t = 6
    assert tenkan[t] == (16.0 + 11.0) / 2.0  # highs 13,16 / lows 11,14
    assert kijun[t] == (16.0 + 11.0) / 2.0  # highs 14,13,16 / lows 12,11,14
    tenkan_4 = (15.0 + 12.0) / 2.0
    kijun_4 = (15.0 + 9.0) / 2.0
    assert span_a[t] == (tenkan_4 + kijun_4) / 2.0
    assert span_b[t] == (15.0 + 9.0) / 2.0  # bars 1..4
    assert chikou[t] == close[t]
    assert mi.catalog()[[s.name for s in mi.catalog()].index("ichimoku")].warmup(**kw) == 5


def test_ichimoku_nan_leaves_the_window() -> None:
    bars = walk(300, seed=21)
    bars["high"][150] = np.nan
    tenkan, kijun, span_a, span_b, chikou = mi.ichimoku(bars["high"], bars["low"], bars["close"])
    assert np.isnan(tenkan[150:159]).all() and not np.isnan(tenkan[159])
    assert np.isnan(kijun[150:176]).all() and not np.isnan(kijun[176])
    assert np.isnan(span_a[176:202]).all() and not np.isnan(span_a[202])
    assert np.isnan(span_b[176:228]).all() and not np.isnan(span_b[228])
    assert not np.isnan(chikou[77:]).any()


@pytest.mark.parametrize("kw", ICHIMOKU_PARAMS, ids=lambda kw: "-".join(map(str, kw.values())))
@pytest.mark.parametrize("case", sorted(set(CASES) - {"all_nan"}))
def test_ichimoku_stream_equals_batch(case: str, kw: dict[str, Any]) -> None:
    check_stream("ichimoku", kw, CASES[case], case)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    periods=st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 12)),
    displacement=st.integers(0, 10),
)
def test_ichimoku_property(
    data: st.DataObject, periods: tuple[int, int, int], displacement: int
) -> None:
    """Batch == slow reference and stream == batch on random series and parameters."""
    bars = random_bars(data, n_max=80)
    kw = dict(zip(("tenkanperiod", "kijunperiod", "senkouperiod"), periods, strict=True))
    kw["displacement"] = displacement
    check_ichimoku(bars, kw, "hypothesis")
    check_stream("ichimoku", kw, bars, "hypothesis")


def test_ichimoku_two_dimensional_and_pandas() -> None:
    columns = [walk(200, seed=s) for s in range(4)]
    columns[1]["low"][60:64] = np.nan
    matrix = [np.column_stack([c[k] for c in columns]) for k in ("high", "low", "close")]
    result = mi.ichimoku(*matrix)
    for j, bars in enumerate(columns):
        one = mi.ichimoku(bars["high"], bars["low"], bars["close"])
        for m, o in zip(result, one, strict=True):
            np.testing.assert_array_equal(m[:, j], o)
    index = pd.date_range("2024-01-01", periods=200, freq="h", tz="UTC")
    frame = pd.DataFrame(columns[0], index=index)
    lines = mi.ichimoku(frame["high"], frame["low"], frame["close"])
    assert [s.name for s in lines] == ["tenkan", "kijun", "senkou_a", "senkou_b", "chikou"]
    assert all(s.index.equals(index) for s in lines)


def test_ichimoku_metadata_and_invalid_parameters() -> None:
    spec = next(s for s in mi.catalog() if s.name == "ichimoku")
    assert [(p.name, p.default) for p in spec.params] == [
        ("tenkanperiod", 9),
        ("kijunperiod", 26),
        ("senkouperiod", 52),
        ("displacement", 26),
    ]
    assert spec.outputs == ("tenkan", "kijun", "senkou_a", "senkou_b", "chikou")
    assert spec.warmup() == 77
    assert "displacement" in (mi.ichimoku.__doc__ or "")
    bars = walk(50)
    for bad in ({"tenkanperiod": 0}, {"displacement": -1}, {"senkouperiod": 2.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            mi.ichimoku(bars["high"], bars["low"], bars["close"], **bad)


# ---------------------------------------------------------------------------------------------
# anchored_vwap
# ---------------------------------------------------------------------------------------------

AVWAP_PARAMS = [
    {},
    {"anchor": ANCHOR_DAY, "offset_s": 79200.0},
    {"anchor": ANCHOR_WEEK},
    {"anchor": ANCHOR_WEEK, "offset_s": -3600.0},
    {"anchor": ANCHOR_SESSION},
    {"anchor": ANCHOR_SESSION, "gap_s": 0.0},
]


def avwap_inputs(bars: dict[str, np.ndarray], times: np.ndarray) -> list[np.ndarray]:
    return [bars["high"], bars["low"], bars["close"], bars["volume"], times]


def check_avwap(inputs: list[np.ndarray], kw: dict[str, Any], label: str) -> None:
    ours = mi.anchored_vwap(*inputs, **kw)
    ref = reference_anchored_vwap(*inputs, **kw)
    assert_identical(ours, ref, f"{label} anchored_vwap{kw}")


@pytest.mark.parametrize("kw", AVWAP_PARAMS, ids=lambda kw: "-".join(map(str, kw.values())))
@pytest.mark.parametrize("case", sorted(CASES))
def test_anchored_vwap_matches_reference(case: str, kw: dict[str, Any]) -> None:
    bars = CASES[case]
    times = minute_times(len(bars["close"]))
    check_avwap(avwap_inputs(bars, times), kw, case)


def test_anchored_vwap_nan_timestamps_and_leading_nan() -> None:
    bars = walk(900, seed=31)
    times = minute_times(900)
    times[:4] = np.nan
    times[500:510] = np.nan
    times[700] = np.inf
    for kw in AVWAP_PARAMS:
        check_avwap(avwap_inputs(bars, times), kw, "nan timestamps")
        check_stream("anchored_vwap", kw, {**bars, "timestamp": times}, "nan timestamps")


@pytest.mark.parametrize("kw", AVWAP_PARAMS, ids=lambda kw: "-".join(map(str, kw.values())))
def test_anchored_vwap_on_real_candles(kw: dict[str, Any]) -> None:
    frame = real_candles(BTCUSDT).iloc[:20000]  # includes the 2023-03-24 halt and gap
    inputs = [frame[c].to_numpy() for c in ("high", "low", "close", "volume")]
    inputs.append(epoch_seconds(frame.index))
    check_avwap(inputs, kw, BTCUSDT)


def test_anchored_vwap_zero_volume_is_nan_on_eurusd() -> None:
    frame = real_candles(EURUSD)
    inputs = [frame[c].to_numpy() for c in ("high", "low", "close", "volume")]
    result = mi.anchored_vwap(*inputs, epoch_seconds(frame.index), anchor=ANCHOR_WEEK)
    assert np.isnan(result).all()


def test_anchored_vwap_resets_at_each_anchor() -> None:
    """Day, week and session boundaries on hand-made timestamps."""
    monday = datetime(2024, 3, 4, tzinfo=UTC).timestamp()
    times = np.array(
        [
            monday - 120.0,  # Sunday 23:58
            monday - 60.0,  # Sunday 23:59
            monday,  # Monday 00:00: new day and new week
            monday + 60.0,
            monday + 86400.0,  # Tuesday: new day, same week
            monday + 86400.0 + 7200.0,  # two hours later: new session only
        ]
    )
    price = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    volume = np.array([1.0, 3.0, 1.0, 1.0, 2.0, 0.0])
    args = (price, price, price, volume, times)
    day = mi.anchored_vwap(*args, anchor=ANCHOR_DAY)
    np.testing.assert_allclose(day, [1.0, 7.0 / 4.0, 3.0, 3.5, 5.0, 5.0])
    week = mi.anchored_vwap(*args, anchor=ANCHOR_WEEK)
    np.testing.assert_allclose(week, [1.0, 7.0 / 4.0, 3.0, 3.5, 17.0 / 4.0, 17.0 / 4.0])
    session = mi.anchored_vwap(*args, anchor=ANCHOR_SESSION)
    assert session[:4].tolist() == pytest.approx([1.0, 7.0 / 4.0, 10.0 / 5.0, 14.0 / 6.0])
    assert session[4] == 5.0 and np.isnan(session[5])  # new session with no volume yet
    shifted = mi.anchored_vwap(*args, anchor=ANCHOR_DAY, offset_s=-120.0)
    assert shifted[:3].tolist() == [1.0, 7.0 / 4.0, 2.0]  # Sunday 23:58 already counts as Monday


@pytest.mark.parametrize("kw", AVWAP_PARAMS, ids=lambda kw: "-".join(map(str, kw.values())))
@pytest.mark.parametrize("case", sorted(set(CASES) - {"all_nan"}))
def test_anchored_vwap_stream_equals_batch(case: str, kw: dict[str, Any]) -> None:
    bars = CASES[case]
    check_stream("anchored_vwap", kw, {**bars, "timestamp": minute_times(len(bars["close"]))}, case)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kw=st.sampled_from(AVWAP_PARAMS))
def test_anchored_vwap_property(data: st.DataObject, kw: dict[str, Any]) -> None:
    bars = random_bars(data, n_max=200)
    n = len(bars["close"])
    steps = data.draw(
        st.lists(st.sampled_from([60.0, 60.0, 3600.0, 7200.0, 86400.0, 4 * 86400.0]), min_size=n)
    )
    times = 1.7e9 + np.cumsum(np.asarray(steps[:n], dtype=np.float64))
    if n and data.draw(st.booleans(), label="nan timestamp"):
        times[data.draw(st.integers(0, n - 1), label="where")] = np.nan
    inputs = avwap_inputs(bars, times)
    check_avwap(inputs, kw, "hypothesis")
    check_stream("anchored_vwap", kw, {**bars, "timestamp": times}, "hypothesis")


def test_anchored_vwap_two_dimensional_and_pandas() -> None:
    columns = [walk(700, seed=s) for s in range(3)]
    times = minute_times(700)
    matrix = [np.column_stack([c[k] for c in columns]) for k in ("high", "low", "close", "volume")]
    matrix.append(np.column_stack([times] * 3))
    result = mi.anchored_vwap(*matrix, anchor=ANCHOR_SESSION)
    for j, bars in enumerate(columns):
        one = mi.anchored_vwap(*avwap_inputs(bars, times), anchor=ANCHOR_SESSION)
        np.testing.assert_array_equal(result[:, j], one)
    index = pd.to_datetime(times, unit="s", utc=True)
    frame = pd.DataFrame(columns[0], index=index)
    series = mi.anchored_vwap(
        frame["high"], frame["low"], frame["close"], frame["volume"], epoch_seconds(frame.index)
    )
    assert isinstance(series, pd.Series) and series.index.equals(index)
    np.testing.assert_array_equal(
        series.to_numpy(), mi.anchored_vwap(*avwap_inputs(columns[0], times))
    )


def test_anchored_vwap_metadata_and_invalid_parameters() -> None:
    spec = next(s for s in mi.catalog() if s.name == "anchored_vwap")
    assert spec.inputs == ("high", "low", "close", "volume", "timestamp")
    assert [(p.name, p.default) for p in spec.params] == [
        ("anchor", ANCHOR_DAY),
        ("offset_s", 0.0),
        ("gap_s", 3600.0),
    ]
    assert spec.warmup() == 0
    bars = walk(20)
    times = minute_times(20)
    for bad in ({"anchor": 3}, {"gap_s": -1.0}, {"offset_s": 8 * 86400.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            mi.anchored_vwap(*avwap_inputs(bars, times), **bad)


def test_epoch_seconds_conversions() -> None:
    aware = pd.date_range("2024-01-01 00:00:30", periods=3, freq="D", tz="Europe/Paris")
    expected = np.array([aware[i].timestamp() for i in range(3)])
    np.testing.assert_array_equal(epoch_seconds(aware), expected)
    np.testing.assert_array_equal(epoch_seconds(pd.Series(aware)), expected)
    naive = np.array(["2024-01-01T00:00:00", "NaT"], dtype="datetime64[s]")
    converted = epoch_seconds(naive)
    assert converted[0] == datetime(2024, 1, 1, tzinfo=UTC).timestamp() and np.isnan(converted[1])
    assert epoch_seconds(np.array([1, 2])).dtype == np.float64
    with pytest.raises(ValueError, match="times"):
        epoch_seconds(np.array(["a"]))


# ---------------------------------------------------------------------------------------------
# stream state and speed
# ---------------------------------------------------------------------------------------------


def test_stream_state_round_trip_json_ready() -> None:
    import json

    bars = walk(120, seed=41)
    stream = ms.ichimoku(bars["high"], bars["low"], bars["close"])
    state = json.loads(json.dumps(stream.state()))
    clone = ms.from_state(state)
    twin = pickle.loads(pickle.dumps(stream))
    for bar in zip(bars["high"][:30], bars["low"][:30], bars["close"][:30], strict=True):
        expected = np.array(stream.update(*bar))
        np.testing.assert_array_equal(np.array(clone.update(*bar)), expected)
        np.testing.assert_array_equal(np.array(twin.update(*bar)), expected)
