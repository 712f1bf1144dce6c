"""adx, plus_di, minus_di, aroon and sar against TA-Lib 0.8.2.

Compared on the shared data sets plus the cases that exercise TA-Lib's own rules: steady
trends (where TA-Lib's AROON rescans every bar and ours hands over to the block scan),
flat stretches (zero true range), scattered NaN, OHLC that breaks high >= close >= low,
the unstable-period setting and SAR's start (direction from the first two bars).
NaN positions must be identical and values within 1e-9 relative; on the real candles
the outputs are required to be bit-identical. Stream == batch is property-tested with
hypothesis, including steady trends with NaN holes for AROON's two code paths.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import numpy as np
import pytest
import talib
from hypothesis import HealthCheck, given, settings, strategies as st

import moonlight.indicators as mi
from moonlight.indicators import stream as ms
from tests.indicators.oracle import Bars, assert_matches_talib, random_walk, standard_sets
from tests.support.market_data import BTCUSDT, EURUSD, real_candles

NAMES = ("adx", "plus_di", "minus_di", "aroon", "sar")

PARAMS: dict[str, list[dict[str, Any]]] = {
    "adx": [{}, {"timeperiod": 2}, {"timeperiod": 30}],
    "plus_di": [{}, {"timeperiod": 1}, {"timeperiod": 2}, {"timeperiod": 30}],
    "minus_di": [{}, {"timeperiod": 1}, {"timeperiod": 2}, {"timeperiod": 30}],
    "aroon": [{}, {"timeperiod": 2}, {"timeperiod": 5}, {"timeperiod": 60}],
    "sar": [
        {},
        {"acceleration": 0.05, "maximum": 0.1},
        {"acceleration": 0.3, "maximum": 0.2},
        {"acceleration": 0.0, "maximum": 0.0},
    ],
}


def _copy(bars: Bars) -> dict[str, np.ndarray]:
    return {k: getattr(bars, k).copy() for k in ("open", "high", "low", "close", "volume")}


def trend(n: int = 400, slope: float = 0.25, name: str = "trend") -> Bars:
    """A steady trend with a little noise: the window extreme is always the newest bar."""
    rng = np.random.default_rng(31)
    close = 100.0 + slope * np.arange(n) + rng.normal(0.0, 0.01, n)
    return Bars(name, close, close + 0.5, close - 0.5, close, np.full(n, 10.0))


def trend_with_holes() -> Bars:
    """A down-trend with NaN holes in high and low (AROON's block-scan path with NaN)."""
    arrays = _copy(trend(400, -0.3, "trend_with_holes"))
    for start in (57, 130, 131, 250):
        arrays["high"][start : start + 2] = np.nan
    for start in (90, 200, 333):
        arrays["low"][start] = np.nan
    return Bars("trend_with_holes", **arrays)


def flat_stretches() -> Bars:
    """Stretches of identical OHLC: zero true range, no directional movement."""
    arrays = _copy(random_walk(400, 23))
    for a, b in ((50, 120), (250, 262)):
        for key in ("open", "high", "low", "close"):
            arrays[key][a:b] = arrays["close"][a]
    return Bars("flat_stretches", **arrays)


def scattered_nan() -> Bars:
    """Isolated NaN in single inputs."""
    rng = np.random.default_rng(24)
    arrays = _copy(random_walk(400, 24))
    for key in ("high", "low", "close"):
        arrays[key][rng.choice(np.arange(20, 400), 6, replace=False)] = np.nan
    return Bars("scattered_nan", **arrays)


def broken_ohlc() -> Bars:
    """Closes outside the bar's range and some highs below lows (bad data must not crash)."""
    rng = np.random.default_rng(25)
    arrays = _copy(random_walk(300, 25))
    arrays["close"] = arrays["close"] + rng.normal(0.0, 3.0, 300)
    swap = rng.random(300) < 0.1
    arrays["high"][swap], arrays["low"][swap] = arrays["low"][swap], arrays["high"][swap]
    return Bars("broken_ohlc", **arrays)


DATA = [
    *standard_sets(),
    trend(),
    trend(400, -0.25, "downtrend"),
    trend_with_holes(),
    flat_stretches(),
    scattered_nan(),
    broken_ohlc(),
]


def _inputs(name: str, bars: Bars) -> list[np.ndarray]:
    spec = next(s for s in mi.catalog() if s.name == name)
    return [bars.column(i) for i in spec.inputs]


def _cases() -> list[Any]:
    return [
        pytest.param(
            name, kw, bars, id=f"{name}-{'-'.join(map(str, kw.values())) or 'dflt'}-{bars.name}"
        )
        for name in NAMES
        for kw in PARAMS[name]
        for bars in DATA
    ]


@pytest.mark.parametrize(("name", "params", "bars"), _cases())
def test_matches_talib(name: str, params: dict[str, Any], bars: Bars) -> None:
    assert_matches_talib(name, *_inputs(name, bars), **params)


@pytest.mark.parametrize("candles", [EURUSD, BTCUSDT])
@pytest.mark.parametrize("name", NAMES)
def test_bit_identical_to_talib_on_real_candles(name: str, candles: str) -> None:
    frame = real_candles(candles)
    bars = Bars(candles, *(frame[k].to_numpy() for k in ("open", "high", "low", "close", "volume")))
    inputs = _inputs(name, bars)
    if sys.platform != "linux":  # bit identity is checked against the Linux wheel's build
        assert_matches_talib(name, *inputs)
        return
    ours = getattr(mi, name)(*inputs)
    theirs = getattr(talib, name.upper())(*inputs)
    for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (ours, theirs)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_aroon_output_order_is_down_then_up() -> None:
    bars = trend(60)
    down, up = mi.aroon(bars.high, bars.low, 14)
    assert (up[14:] == 100.0).all(), "a rising high is the newest bar: aroonup is 100"
    assert (down[14:] == 0.0).all(), "the lowest low is the oldest bar: aroondown is 0"


@pytest.mark.parametrize("period", [2, 14, 60, 250])
def test_aroon_equals_talib_on_long_trends(period: int) -> None:
    """Long steady trends: the kernel leaves TA-Lib's rescans for the block scan."""
    up = trend(20_000, 0.01, "long_up")
    down = trend(20_000, -0.01, "long_down")
    for bars in (up, down):
        assert_matches_talib("aroon", bars.high, bars.low, timeperiod=period)


def test_di_with_period_one_is_the_raw_ratio() -> None:
    bars = random_walk(200, 7)
    hlc = (bars.high, bars.low, bars.close)
    plus = mi.plus_di(*hlc, timeperiod=1)
    minus = mi.minus_di(*hlc, timeperiod=1)
    np.testing.assert_array_equal(plus, talib.PLUS_DI(*hlc, timeperiod=1))
    np.testing.assert_array_equal(minus, talib.MINUS_DI(*hlc, timeperiod=1))
    assert np.nanmax(plus) <= 1.0 and np.nanmax(minus) <= 1.0, "DM1/TR1, not scaled by 100"
    assert np.isnan(plus[0]) and not np.isnan(plus[1:]).any()


def test_sar_starts_short_when_the_second_bar_falls() -> None:
    high = np.array([10.0, 9.5, 9.0, 8.8, 8.5, 9.9])
    low = np.array([9.0, 8.0, 7.9, 7.5, 7.2, 8.0])
    ours = mi.sar(high, low)
    np.testing.assert_array_equal(ours, talib.SAR(high, low))
    assert ours[1] == high[0], "short: the first SAR is the first bar's high"


def test_sar_starts_long_on_a_tie() -> None:
    high = np.array([10.0, 11.0, 11.5, 12.0])
    low = np.array([9.0, 8.0, 8.5, 9.0])  # +DM 1 == -DM 1
    ours = mi.sar(high, low)
    np.testing.assert_array_equal(ours, talib.SAR(high, low))
    # Long from a SAR at low[0] = 9: bar 1's low (8) breaks it at once, so the output is
    # the reversal to short at the extreme high[1] = 11. Starting short (SAR high[0] = 10)
    # would instead reverse to long at low[1] = 8.
    assert ours[1] == high[1]


def test_sar_acceleration_above_maximum_is_capped() -> None:
    bars = random_walk(300, 8)
    np.testing.assert_array_equal(
        mi.sar(bars.high, bars.low, 0.5, 0.2), mi.sar(bars.high, bars.low, 0.2, 0.2)
    )


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("adx", {"timeperiod": 1}),
        ("plus_di", {"timeperiod": 0}),
        ("minus_di", {"timeperiod": 0}),
        ("aroon", {"timeperiod": 1}),
        ("sar", {"acceleration": -0.01}),
        ("sar", {"maximum": -1.0}),
    ],
)
def test_out_of_range_parameters_raise_like_talib(name: str, params: dict[str, Any]) -> None:
    inputs = _inputs(name, random_walk(100))
    with pytest.raises(ValueError, match=next(iter(params))):
        getattr(mi, name)(*inputs, **params)
    with pytest.raises(Exception, match="Bad Parameter"):
        getattr(talib, name.upper())(*inputs, **params)


UNSTABLE = ("ADX", "PLUS_DI", "MINUS_DI")


@pytest.fixture
def unstable_periods() -> Any:
    """Unstable periods of 5 for ADX and the DIs in both libraries, restored afterwards."""
    for name in UNSTABLE:
        talib.set_unstable_period(name, 5)
        mi.set_unstable_period(name, 5)
    yield
    for name in UNSTABLE:
        talib.set_unstable_period(name, 0)
        mi.set_unstable_period(name, 0)


@pytest.mark.usefixtures("unstable_periods")
@pytest.mark.parametrize("name", ["adx", "plus_di", "minus_di"])
def test_unstable_period_follows_talib(name: str) -> None:
    bars = random_walk(300, 9)
    hlc = (bars.high, bars.low, bars.close)
    assert_matches_talib(name, *hlc)
    np.testing.assert_array_equal(getattr(ms, name)().run(*hlc), getattr(mi, name)(*hlc))


# ---------------------------------------------------------------------------------------------
# stream == batch
# ---------------------------------------------------------------------------------------------


def _param_strategy(name: str) -> st.SearchStrategy[dict[str, Any]]:
    if name == "sar":
        return st.fixed_dictionaries(
            {
                "acceleration": st.sampled_from([0.0, 0.01, 0.02, 0.1, 0.5]),
                "maximum": st.sampled_from([0.0, 0.1, 0.2, 0.5]),
            }
        )
    low = 1 if name in ("plus_di", "minus_di") else 2
    return st.fixed_dictionaries({"timeperiod": st.integers(low, 40)})


@st.composite
def _series(draw: st.DrawFn) -> Bars:
    n = draw(st.integers(0, 200))
    seed = draw(st.integers(0, 10_000))
    if draw(st.booleans()):
        base = random_walk(max(n, 1), seed)
    else:
        slope = draw(st.sampled_from([-0.5, -0.05, 0.05, 0.5]))
        base = trend(max(n, 1), slope)
    arrays = {k: getattr(base, k)[:n].copy() for k in ("open", "high", "low", "close", "volume")}
    if n and draw(st.booleans()):
        arrays["high"][: draw(st.integers(0, min(n, 6)))] = np.nan
    for key in ("high", "low", "close"):
        for _ in range(draw(st.integers(0, 2))):
            if n:
                start = draw(st.integers(0, n - 1))
                arrays[key][start : start + draw(st.integers(1, 4))] = np.nan
    return Bars("hypothesis", **arrays)


def _outputs(result: Any, count: int) -> tuple[np.ndarray, ...]:
    """A stream's ``run`` result as a tuple of ``count`` arrays (empty runs included)."""
    if isinstance(result, tuple):
        return result
    if count > 1 and result.shape[0] == 0:
        return tuple(np.empty(0) for _ in range(count))
    return (result,)


@pytest.mark.parametrize("name", NAMES)
def test_stream_equals_batch_bit_for_bit(name: str) -> None:
    @given(bars=_series(), params=_param_strategy(name), split=st.integers(0, 200))
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(bars: Bars, params: dict[str, Any], split: int) -> None:
        inputs = _inputs(name, bars)
        batch = getattr(mi, name)(*inputs, **params)
        batch = batch if isinstance(batch, tuple) else (batch,)
        stream = getattr(ms, name)(**params)
        split = min(split, len(bars))
        head = _outputs(stream.run(*(x[:split] for x in inputs)), len(batch))
        resumed = pickle.loads(pickle.dumps(stream))
        tail = _outputs(resumed.run(*(x[split:] for x in inputs)), len(batch))
        for k, expected in enumerate(batch):
            got = np.concatenate([head[k], tail[k]])
            np.testing.assert_array_equal(got, expected, err_msg=f"{name}{params} output {k}")

    check()


@given(
    n=st.integers(3, 400),
    slope=st.sampled_from([-1.0, -0.01, 0.01, 1.0]),
    period=st.integers(2, 50),
    holes=st.lists(st.tuples(st.integers(0, 399), st.booleans()), max_size=5),
)
@settings(max_examples=60, deadline=None)
def test_aroon_equals_talib_on_trends_with_nan(
    n: int, slope: float, period: int, holes: list[tuple[int, bool]]
) -> None:
    arrays = _copy(trend(n, slope))
    for bar, in_high in holes:
        arrays["high" if in_high else "low"][bar % n] = np.nan
    bars = Bars("trend_holes", **arrays)
    assert_matches_talib("aroon", bars.high, bars.low, timeperiod=period)
