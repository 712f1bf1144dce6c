"""rsi, stochrsi, willr, cci, mfi, roc, mom, cmo and ultosc against TA-Lib 0.8.2.

Each indicator is compared with TA-Lib on the shared data sets (seeded walks, constant
prices, zero volume, leading NaN and a NaN run, short input, 1e-8 and 1e8 prices) plus
the cases where TA-Lib 0.8.1's C code has its own behaviour: flat stretches, scattered
NaN (which WILLR's block scan skips or spreads), plateaus of the RSI under STOCHRSI.
NaN positions must be identical and values within 1e-9 relative; on the real candles
the outputs are required to be bit-identical. Stream == batch is property-tested with
hypothesis over random series with NaN and random parameters (the catalogue contract
test does it generically; these add the indicator-specific parameter ranges).
"""

from __future__ import annotations

import pickle
import sys
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import talib
from hypothesis import HealthCheck, given, settings, strategies as st

import moonlight.indicators as mi
from moonlight.indicators import stream as ms
from tests.indicators.oracle import (
    Bars,
    assert_matches_talib,
    constant,
    random_walk,
    standard_sets,
)
from tests.support.market_data import BTCUSDT, EURUSD, real_candles

NAMES = ("rsi", "stochrsi", "willr", "cci", "mfi", "roc", "mom", "cmo", "ultosc")

PARAMS: dict[str, list[dict[str, Any]]] = {
    "rsi": [{}, {"timeperiod": 2}, {"timeperiod": 30}],
    "cmo": [{}, {"timeperiod": 2}, {"timeperiod": 9}],
    "mom": [{}, {"timeperiod": 1}, {"timeperiod": 25}],
    "roc": [{}, {"timeperiod": 1}, {"timeperiod": 25}],
    "willr": [{}, {"timeperiod": 2}, {"timeperiod": 5}, {"timeperiod": 40}],
    "cci": [{}, {"timeperiod": 2}, {"timeperiod": 20}],
    "mfi": [{}, {"timeperiod": 2}, {"timeperiod": 20}],
    "ultosc": [
        {},
        {"timeperiod1": 1, "timeperiod2": 1, "timeperiod3": 1},
        {"timeperiod1": 28, "timeperiod2": 7, "timeperiod3": 14},
        {"timeperiod1": 5, "timeperiod2": 5, "timeperiod3": 9},
    ],
    "stochrsi": [
        {},
        {"timeperiod": 5, "fastk_period": 3, "fastd_period": 3, "fastd_matype": 1},
        {"timeperiod": 9, "fastk_period": 14, "fastd_period": 5, "fastd_matype": 2},
        {"fastk_period": 1, "fastd_period": 1},
        {"timeperiod": 6, "fastk_period": 4, "fastd_period": 4, "fastd_matype": 3},
        {"timeperiod": 6, "fastk_period": 4, "fastd_period": 4, "fastd_matype": 4},
        {"timeperiod": 6, "fastk_period": 4, "fastd_period": 4, "fastd_matype": 5},
        {"timeperiod": 6, "fastk_period": 4, "fastd_period": 3, "fastd_matype": 8},
    ],
}


def flat_stretches(seed: int = 21) -> Bars:
    """A walk with stretches where open, high, low and close are one price."""
    bars = random_walk(400, seed, name="flat_stretches")
    arrays = {k: getattr(bars, k).copy() for k in ("open", "high", "low", "close", "volume")}
    for a, b in ((60, 110), (200, 215), (300, 340)):
        for key in ("open", "high", "low", "close"):
            arrays[key][a:b] = arrays["close"][a]
    return Bars("flat_stretches", **arrays)


def scattered_nan(seed: int = 22) -> Bars:
    """Isolated NaN in single inputs at many positions (block ends and middles)."""
    bars = random_walk(400, seed, name="scattered_nan")
    rng = np.random.default_rng(seed)
    arrays = {k: getattr(bars, k).copy() for k in ("open", "high", "low", "close", "volume")}
    for key in ("high", "low", "close", "volume"):
        arrays[key][rng.choice(np.arange(20, 400), 6, replace=False)] = np.nan
    return Bars("scattered_nan", **arrays)


def trend(n: int = 300) -> Bars:
    """A steady up-trend: every RSI change a gain, every window's high the last bar."""
    close = 100.0 + 0.5 * np.arange(n)
    return Bars("trend", close - 0.1, close + 0.3, close - 0.3, close, np.full(n, 50.0))


def broken_ohlc(seed: int = 23) -> Bars:
    """Closes outside the bar's range and some highs below lows: %R and %K hit their bounds."""
    rng = np.random.default_rng(seed)
    bars = random_walk(300, seed)
    arrays = {k: getattr(bars, k).copy() for k in ("open", "high", "low", "close", "volume")}
    arrays["close"] = arrays["close"] + rng.normal(0.0, 3.0, 300)
    swap = rng.random(300) < 0.1
    arrays["high"][swap], arrays["low"][swap] = arrays["low"][swap], arrays["high"][swap]
    return Bars("broken_ohlc", **arrays)


DATA = [*standard_sets(), flat_stretches(), scattered_nan(), trend(), broken_ohlc()]


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


def test_stochrsi_with_kama_fastd_matches_talib() -> None:
    assert_matches_talib("stochrsi", random_walk(400, 0).close, 6, 4, 3, 6)


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


def test_mfi_without_volume_is_zero_like_talib() -> None:
    frame = real_candles(EURUSD).iloc[:5000]
    h, lo, c, v = (frame[k].to_numpy() for k in ("high", "low", "close", "volume"))
    assert not v.any(), "the EURUSD file is expected to carry no volume"
    ours = mi.mfi(h, lo, c, v)
    np.testing.assert_array_equal(ours, talib.MFI(h, lo, c, v))
    assert np.isnan(ours[:14]).all() and (ours[14:] == 0.0).all()


@pytest.mark.parametrize("scale", [1e-12, 1e-8])
def test_tiny_prices_are_not_zeroed(scale: float) -> None:
    bars = random_walk(200, 9, scale)
    for name in ("rsi", "cmo", "willr", "cci", "mfi", "ultosc"):
        ours = getattr(mi, name)(*_inputs(name, bars))
        assert np.count_nonzero(ours[40:]) > 100, name
        assert_matches_talib(name, *_inputs(name, bars))


def test_rsi_and_cmo_answer_zero_after_a_nan_like_talib() -> None:
    close = random_walk(120, 3).close.copy()
    close[50] = np.nan
    for name in ("rsi", "cmo"):
        ours = getattr(mi, name)(close)
        np.testing.assert_array_equal(ours, getattr(talib, name.upper())(close))
        assert (ours[50:] == 0.0).all(), name


def test_willr_nan_is_skipped_unless_a_block_scan_starts_on_it() -> None:
    bars = random_walk(60, 4)
    base = mi.willr(bars.high, bars.low, bars.close, 5)
    for bar, poisoned in ((12, []), (14, [14, 15, 16, 17, 18]), (16, [])):
        high = bars.high.copy()
        high[bar] = np.nan
        ours = mi.willr(high, bars.low, bars.close, 5)
        np.testing.assert_array_equal(ours, talib.WILLR(high, bars.low, bars.close, 5))
        newly_nan = np.flatnonzero(np.isnan(ours) & ~np.isnan(base)).tolist()
        assert newly_nan == poisoned, bar


def test_willr_flat_window_is_zero_within_relative_band() -> None:
    ulp = np.spacing(1.0)
    for steps, expected in ((50, 0.0), (90, 0.0), (91, -100.0)):
        high = np.full(6, 1.0 + steps * ulp)
        flat = np.full(6, 1.0)
        ours = mi.willr(high, flat, flat, 3)
        assert ours[2] == expected == talib.WILLR(high, flat, flat, 3)[2], steps


def test_ultosc_weights_follow_period_length_not_position() -> None:
    bars = random_walk(200, 5)
    hlc = (bars.high, bars.low, bars.close)
    np.testing.assert_array_equal(mi.ultosc(*hlc, 28, 7, 14), mi.ultosc(*hlc, 7, 14, 28))


@pytest.mark.parametrize("matype", [7, 9, -1])
def test_stochrsi_refuses_mama_and_unknown_ma_types(matype: int) -> None:
    with pytest.raises(ValueError, match="fastd_matype"):
        mi.stochrsi(random_walk(100).close, fastd_matype=matype)


def test_stochrsi_stream_refuses_mama() -> None:
    with pytest.raises(ValueError, match="fastd_matype"):
        ms.stochrsi(fastd_matype=7)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("rsi", {"timeperiod": 1}),
        ("cmo", {"timeperiod": 1}),
        ("mom", {"timeperiod": 0}),
        ("roc", {"timeperiod": 0}),
        ("willr", {"timeperiod": 1}),
        ("cci", {"timeperiod": 1}),
        ("mfi", {"timeperiod": 1}),
        ("ultosc", {"timeperiod3": 0}),
        ("stochrsi", {"fastk_period": 0}),
    ],
)
def test_out_of_range_parameters_raise_like_talib(name: str, params: dict[str, Any]) -> None:
    bars = random_walk(100)
    inputs = _inputs(name, bars)
    with pytest.raises(ValueError, match=next(iter(params))):
        getattr(mi, name)(*inputs, **params)
    with pytest.raises(Exception, match="Bad Parameter"):
        getattr(talib, name.upper())(*inputs, **params)


@pytest.fixture
def unstable_rsi_cmo() -> Any:
    """RSI and CMO unstable periods of 4 in both libraries, restored afterwards."""
    for name in ("RSI", "CMO"):
        talib.set_unstable_period(name, 4)
        mi.set_unstable_period(name, 4)
    yield
    for name in ("RSI", "CMO"):
        talib.set_unstable_period(name, 0)
        mi.set_unstable_period(name, 0)


@pytest.mark.usefixtures("unstable_rsi_cmo")
@pytest.mark.parametrize("name", ["rsi", "cmo", "stochrsi"])
def test_unstable_period_follows_talib(name: str) -> None:
    bars = random_walk(300, 6)
    assert_matches_talib(name, bars.close)
    batch = getattr(mi, name)(bars.close)
    streamed = getattr(ms, name)().run(bars.close)
    for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (batch, streamed)), strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# stream == batch
# ---------------------------------------------------------------------------------------------


def _param_strategy(name: str) -> st.SearchStrategy[dict[str, Any]]:
    period = st.integers(2, 30)
    if name in ("mom", "roc"):
        return st.fixed_dictionaries({"timeperiod": st.integers(1, 30)})
    if name == "ultosc":
        one = st.integers(1, 20)
        return st.fixed_dictionaries({"timeperiod1": one, "timeperiod2": one, "timeperiod3": one})
    if name == "stochrsi":
        return st.fixed_dictionaries(
            {
                "timeperiod": st.integers(2, 15),
                "fastk_period": st.integers(1, 10),
                "fastd_period": st.integers(1, 6),
                "fastd_matype": st.sampled_from([0, 1, 2, 3, 4, 5, 6, 8]),
            }
        )
    return st.fixed_dictionaries({"timeperiod": period})


@st.composite
def _series(draw: st.DrawFn) -> Bars:
    n = draw(st.integers(0, 160))
    bars = random_walk(max(n, 1), draw(st.integers(0, 10_000)))
    arrays = {k: getattr(bars, k)[:n].copy() for k in ("open", "high", "low", "close", "volume")}
    if n and draw(st.booleans()):
        arrays["close"][: draw(st.integers(0, min(n, 8)))] = np.nan
    for key in ("high", "low", "close", "volume"):
        for _ in range(draw(st.integers(0, 2))):
            if n:
                start = draw(st.integers(0, n - 1))
                arrays[key][start : start + draw(st.integers(1, 4))] = np.nan
    if n and draw(st.booleans()):
        start = draw(st.integers(0, n - 1))
        for key in ("open", "high", "low", "close"):
            arrays[key][start : start + 25] = arrays["close"][start]
        arrays["volume"][start : start + 25] = 0.0
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
    @given(bars=_series(), params=_param_strategy(name), split=st.integers(0, 160))
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(bars: Bars, params: dict[str, Any], split: int) -> None:
        inputs = _inputs(name, bars)
        batch = getattr(mi, name)(*inputs, **params)
        batch = batch if isinstance(batch, tuple) else (batch,)
        stream = getattr(ms, name)(**params)
        split = min(split, len(bars))
        head = stream.run(*(x[:split] for x in inputs))
        # resume from a pickled copy mid-series: the state carries everything
        resumed = pickle.loads(pickle.dumps(stream))
        tail = resumed.run(*(x[split:] for x in inputs))
        head = _outputs(head, len(batch))
        tail = _outputs(tail, len(batch))
        for k, expected in enumerate(batch):
            got = np.concatenate([head[k], tail[k]])
            np.testing.assert_array_equal(got, expected, err_msg=f"{name}{params} output {k}")

    check()


def test_stochrsi_stream_from_history_matches_batch() -> None:
    bars = replace(constant(40), name="c")
    close = np.concatenate([bars.close, random_walk(200, 8).close])
    batch = mi.stochrsi(close, 6, 4, 3, 1)
    stream = ms.stochrsi(close[:120], timeperiod=6, fastk_period=4, fastd_period=3, fastd_matype=1)
    for t in range(120, close.shape[0]):
        np.testing.assert_array_equal(stream.update(float(close[t])), (batch[0][t], batch[1][t]))
