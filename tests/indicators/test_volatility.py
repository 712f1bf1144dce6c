"""trange, atr, natr, supertrend, kc (keltner) and donchian against TA-Lib 0.8.2.

Every case compares NaN positions exactly and values within 1e-9 relative (the kernels
are in fact bit-identical on this machine), then checks the stream against the batch bar
by bar. The input cases and helpers here are shared with ``test_volume`` and
``test_candles`` (imported by name: the helpers are not tests).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import HealthCheck, given, settings, strategies as st

import moonlight.indicators as mi
from moonlight.indicators import stream as ms
from tests.support.market_data import BTCUSDT, EURUSD, real_candles

Bars = dict[str, np.ndarray]

# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


def walk(n: int, *, seed: int = 7, scale: float = 1.0, volume: bool = True) -> Bars:
    """A seeded random-walk OHLCV series (prices around 100 * scale)."""
    rng = np.random.default_rng(seed)
    close = (100.0 + np.cumsum(rng.normal(0.0, 1.0, n))) * scale
    high = close + rng.uniform(0.0, 1.0, n) * scale
    low = close - rng.uniform(0.0, 1.0, n) * scale
    open_ = close + rng.normal(0.0, 0.3, n) * scale
    vol = rng.uniform(0.0, 1000.0, n) if volume else np.zeros(n)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": vol}


def synthetic_cases() -> dict[str, Bars]:
    """Seeded walks, NaN leads and runs, constant and flat data, extremes, short input."""
    cases = {
        "walk": walk(400),
        "walk_long": walk(5000, seed=11),
        "constant": {k: np.full(120, 5.0 if k != "volume" else 7.0) for k in walk(1)},
        "zero_volume": walk(400, seed=3, volume=False),
        "tiny_1e-8": walk(400, seed=5, scale=1e-8),
        "huge_1e8": walk(400, seed=6, scale=1e8),
        "shorter_than_warmup": walk(6, seed=8),
        "one_bar": walk(1, seed=9),
        "empty": walk(0),
        "all_nan": {k: np.full(40, np.nan) for k in walk(1)},
    }
    lead = walk(400, seed=12)
    lead["high"][:7] = np.nan
    lead["volume"][:3] = np.nan
    cases["leading_nan"] = lead
    run = walk(400, seed=13)
    run["close"][150:160] = np.nan
    run["low"][220] = np.nan
    run["high"][300] = np.nan
    run["volume"][260:265] = np.nan
    run["open"][330] = np.nan
    cases["nan_run"] = run
    flat = walk(400, seed=14)
    flat["high"][100:140] = flat["low"][100:140] = flat["close"][100:140]
    flat["volume"][100:180] = 0.0
    cases["flat_and_dead"] = flat
    return cases


CASES = synthetic_cases()


def real_bars(name: str) -> Bars:
    """The real candles as arrays (skips when ../shared/data is absent)."""
    frame = real_candles(name)
    return {col: frame[col].to_numpy() for col in ("open", "high", "low", "close", "volume")}


def inputs_of(name: str, bars: Bars) -> list[np.ndarray]:
    """The input arrays of indicator ``name`` in its declared order ("real" is the close)."""
    return [bars["close" if i == "real" else i] for i in _spec(name).inputs]


def _spec(name: str) -> Any:
    return next(s for s in mi.catalog() if s.name == name)


def as_tuple(result: Any) -> tuple[np.ndarray, ...]:
    return result if isinstance(result, tuple) else (result,)


def assert_close_to_talib(ours: Any, ref: Any, label: str) -> None:
    """NaN (and inf) positions identical, finite values within 1e-9 relative."""
    ours_t, ref_t = as_tuple(ours), as_tuple(ref)
    assert len(ours_t) == len(ref_t), label
    for k, (o, r) in enumerate(zip(ours_t, ref_t, strict=True)):
        o = np.asarray(o)
        r = np.asarray(r)
        assert o.shape == r.shape, f"{label} output {k}: shape"
        if r.dtype.kind in "iu":
            assert o.dtype == r.dtype, f"{label} output {k}: dtype {o.dtype} != {r.dtype}"
            np.testing.assert_array_equal(o, r, err_msg=f"{label} output {k}")
            continue
        np.testing.assert_array_equal(np.isnan(o), np.isnan(r), err_msg=f"{label} output {k} NaN")
        finite = np.isfinite(r)
        np.testing.assert_array_equal(o[~finite & ~np.isnan(r)], r[~finite & ~np.isnan(r)])
        scale = float(np.max(np.abs(r[finite]))) if finite.any() else 0.0
        np.testing.assert_allclose(
            o[finite], r[finite], rtol=1e-9, atol=1e-13 * scale, err_msg=f"{label} output {k}"
        )


def assert_identical(a: Any, b: Any, label: str) -> None:
    """Bit for bit (NaN where NaN), output by output."""
    for k, (x, y) in enumerate(zip(as_tuple(a), as_tuple(b), strict=True)):
        x = np.asarray(x)
        y = np.asarray(y)
        assert x.dtype == y.dtype, f"{label} output {k}: dtype {x.dtype} != {y.dtype}"
        np.testing.assert_array_equal(x, y, err_msg=f"{label} output {k}")


def grid(table: dict[str, list[dict[str, Any]]]) -> list[Any]:
    """pytest params ``(name, params)`` with readable ids."""
    return [
        pytest.param(name, kw, id=f"{name}-" + ("-".join(f"{v}" for v in kw.values()) or "dflt"))
        for name, kws in table.items()
        for kw in kws
    ]


def check_against_talib(name: str, kw: dict[str, Any], bars: Bars, label: str) -> None:
    inputs = inputs_of(name, bars)
    ours = getattr(mi, name)(*inputs, **kw)
    ref = getattr(talib, name.upper())(*inputs, **kw)
    assert_close_to_talib(ours, ref, f"{label} {name}{kw}")


def run_stream(stream: Any, inputs: list[np.ndarray], like: tuple[np.ndarray, ...]) -> tuple:
    """``stream.run`` as a tuple shaped like the batch outputs (also for zero bars)."""
    if len(inputs[0]) == 0:
        return tuple(np.empty(0, dtype=x.dtype) for x in like)
    return as_tuple(stream.run(*inputs))


def check_stream(name: str, kw: dict[str, Any], bars: Bars, label: str) -> None:
    """The stream fed bar by bar equals the batch at every bar; a restored copy goes on."""
    inputs = inputs_of(name, bars)
    batch = as_tuple(getattr(mi, name)(*inputs, **kw))
    if len(inputs[0]) and np.isnan(np.vstack(inputs)).any(axis=0).all():
        # No bar has every input: TA-Lib (and the batch) then computes the last bar on
        # its own, which a stream cannot do -- it cannot know that bar is the last. The
        # stream reports the warm-up value throughout.
        for out in run_stream(getattr(ms, name)(**kw), inputs, batch):
            assert (np.isnan(out) if out.dtype.kind == "f" else out == 0).all()
        return
    half = len(inputs[0]) // 2
    stream = getattr(ms, name)(**kw)
    first = run_stream(stream, [x[:half] for x in inputs], batch)
    restored = pickle.loads(pickle.dumps(stream))
    rebuilt = ms.from_state(stream.state())
    second = run_stream(restored, [x[half:] for x in inputs], batch)
    third = run_stream(rebuilt, [x[half:] for x in inputs], batch)
    joined = tuple(np.concatenate([a, b]) for a, b in zip(first, second, strict=True))
    assert_identical(joined, batch, f"{label} {name}{kw}")
    assert_identical(third, second, f"{label} {name}{kw} from_state")


@pytest.fixture
def unstable_reset() -> Iterator[Callable[[str, int], None]]:
    """Set an unstable period in both libraries; everything back to 0 afterwards."""

    def setter(uid: str, value: int) -> None:
        mi.set_unstable_period(uid, value)
        talib.set_unstable_period(uid, value)

    yield setter
    mi.set_unstable_period("ALL", 0)
    talib.set_unstable_period("ALL", 0)


def random_bars(data: st.DataObject, n_max: int = 120) -> Bars:
    """Hypothesis: a walk of random length with NaN sprinkled into random inputs."""
    n = data.draw(st.integers(0, n_max), label="bars")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    bars = walk(n, seed=seed)
    rng = np.random.default_rng(seed)
    for key in bars:
        if n and data.draw(st.booleans(), label=f"nan in {key}"):
            bars[key][rng.integers(0, n, size=max(1, n // 20))] = np.nan
    if n and data.draw(st.booleans(), label="leading nan"):
        bars["high"][: data.draw(st.integers(0, n), label="lead")] = np.nan
    return bars


# ---------------------------------------------------------------------------------------------
# this module's indicators
# ---------------------------------------------------------------------------------------------

TABLE: dict[str, list[dict[str, Any]]] = {
    "trange": [{}],
    "atr": [{}, {"timeperiod": 1}, {"timeperiod": 2}, {"timeperiod": 30}],
    "natr": [{}, {"timeperiod": 1}, {"timeperiod": 5}],
    "supertrend": [
        {},
        {"timeperiod": 2, "multiplier": 0.0},
        {"timeperiod": 14, "multiplier": 1.5},
    ],
    "kc": [
        {},
        {"timeperiod": 5, "atrperiod": 20, "nbdev": 1.5},
        {"timeperiod": 2, "atrperiod": 1, "nbdev": 0.0},
    ],
    "donchian": [{}, {"timeperiod": 2}, {"timeperiod": 55}],
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


@pytest.mark.parametrize("value", [0, 5])
@pytest.mark.parametrize(
    ("name", "uids"),
    [
        ("atr", ("ATR",)),
        ("natr", ("NATR",)),
        ("supertrend", ("ATR",)),
        ("kc", ("EMA", "ATR")),
        ("kc", ("ATR",)),
        ("kc", ("EMA",)),
    ],
)
def test_unstable_period_matches_talib(
    name: str,
    uids: tuple[str, ...],
    value: int,
    unstable_reset: Callable[[str, int], None],
) -> None:
    for uid in uids:
        unstable_reset(uid, value)
    for case in ("walk", "nan_run", "leading_nan", "shorter_than_warmup"):
        check_against_talib(name, {}, CASES[case], f"{case} unstable={value}")
        check_stream(name, {}, CASES[case], f"{case} unstable={value}")
    first = as_tuple(getattr(talib, name.upper())(*inputs_of(name, CASES["walk"])))[0]
    assert _spec(name).warmup() == int(np.argmax(~np.isnan(first)))


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
    kw = data.draw(st.sampled_from(TABLE[name]), label="params")
    check_stream(name, kw, bars, "hypothesis")


@pytest.mark.parametrize(("name", "kw"), PARAMS)
def test_two_dimensional_equals_columns(name: str, kw: dict[str, Any]) -> None:
    columns = [walk(300, seed=s) for s in range(5)]
    columns[1]["close"][40:50] = np.nan
    columns[2]["high"][:9] = np.nan
    names = _spec(name).inputs
    matrix = [np.column_stack([inputs_of(name, c)[i] for c in columns]) for i in range(len(names))]
    result = as_tuple(getattr(mi, name)(*matrix, **kw))
    for j, bars in enumerate(columns):
        one = as_tuple(getattr(mi, name)(*inputs_of(name, bars), **kw))
        for k, (m, o) in enumerate(zip(result, one, strict=True)):
            np.testing.assert_array_equal(m[:, j], o, err_msg=f"{name} column {j} output {k}")


@pytest.mark.parametrize("name", sorted(TABLE))
def test_pandas_in_pandas_out(name: str) -> None:
    bars = walk(200)
    index = pd.date_range("2024-01-01", periods=200, freq="min", tz="UTC")
    series = [pd.Series(x, index=index) for x in inputs_of(name, bars)]
    result = as_tuple(getattr(mi, name)(*series))
    plain = as_tuple(getattr(mi, name)(*inputs_of(name, bars)))
    for out, ref in zip(result, plain, strict=True):
        assert isinstance(out, pd.Series)
        assert out.index.equals(index)
        np.testing.assert_array_equal(out.to_numpy(), ref)


def test_aliases_and_catalog_metadata() -> None:
    assert mi.keltner is mi.kc
    spec = _spec("kc")
    assert spec.outputs == ("upperband", "middleband", "lowerband")
    assert [(p.name, p.default) for p in spec.params] == [
        ("timeperiod", 20),
        ("atrperiod", 10),
        ("nbdev", 2.0),
    ]
    assert spec.warmup() == 19
    assert spec.warmup(atrperiod=30) == 30
    st_spec = _spec("supertrend")
    assert st_spec.outputs == ("supertrend", "trend")
    assert [(p.name, p.default, p.minimum) for p in st_spec.params] == [
        ("timeperiod", 10, 2),
        ("multiplier", 3.0, 0.0),
    ]
    assert _spec("donchian").warmup(timeperiod=55) == 54
    assert _spec("atr").warmup() == 14
    for name in TABLE:
        assert _spec(name).summary and _spec(name).source


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("atr", {"timeperiod": 0}),
        ("natr", {"timeperiod": -3}),
        ("supertrend", {"multiplier": -0.5}),
        ("supertrend", {"timeperiod": 1}),
        ("kc", {"atrperiod": 0}),
        ("kc", {"nbdev": float("nan")}),
        ("kc", {"nbdev": -1.0}),
        ("donchian", {"timeperiod": 1}),
    ],
)
def test_invalid_parameters_raise(name: str, kw: dict[str, Any]) -> None:
    bars = walk(50)
    with pytest.raises(ValueError, match=next(iter(kw))):
        getattr(mi, name)(*inputs_of(name, bars), **kw)
    with pytest.raises(ValueError, match=next(iter(kw))):
        getattr(ms, name)(**kw)


def test_supertrend_trend_is_int32_and_zero_during_warmup() -> None:
    bars = walk(100)
    line, trend = mi.supertrend(bars["high"], bars["low"], bars["close"], timeperiod=10)
    assert trend.dtype == np.int32
    assert (trend[:10] == 0).all() and np.isnan(line[:10]).all()
    assert set(np.unique(trend[10:])) <= {-1, 1}
    value, direction = ms.supertrend(timeperiod=10).update(1.0, 0.5, 0.7)
    assert np.isnan(value) and direction == 0


def test_donchian_agrees_with_talib_on_trends_ties_and_nan() -> None:
    """Falling highs make TA-Lib rescan every bar; ties and NaN exercise the scan fallback."""
    n = 500
    high = np.linspace(200.0, 100.0, n)
    low = high - 1.0
    high[50:60] = 150.0  # ties inside the window
    high[200:203] = np.nan  # NaN at the window edge when it is rescanned
    low[300] = np.nan
    for period in (2, 3, 20, 55):
        check_against_talib("donchian", {"timeperiod": period}, {"high": high, "low": low}, "trend")
        check_stream("donchian", {"timeperiod": period}, {"high": high, "low": low}, "trend")
