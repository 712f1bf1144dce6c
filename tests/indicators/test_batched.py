"""Batched streams: one indicator's streaming state for many series, one call per instant.

The contract: every series of a :class:`~moonlight.indicators.BatchedStream` gives, bar
for bar, exactly what an independent single stream with the same parameters gives for
the same bars -- whatever subset of series an instant updates and in what order, with
resets and warm-ups of single series in between. Property-tested over every catalogued
indicator with hypothesis (random parameters, series counts, schedules, NaN inputs),
then the API's edges: index checking before anything changes, broadcasting, warm-up
shapes, persistence.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, strategies as st

import moonlight.indicators as mi
from moonlight.core.plugins import IndicatorSpec
from moonlight.indicators import _define
from moonlight.indicators._streams import BatchedStream, Stream
from tests.indicators.oracle import inputs_for, random_walk
from tests.indicators.test_catalog_contract import _param_strategy, _valid, property_settings

SPECS = list(mi.catalog())
IDS = [spec.name for spec in SPECS]


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _same(a: Any, b: Any) -> bool:
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


@st.composite
def _schedule(draw: st.DrawFn, spec: IndicatorSpec) -> dict[str, Any]:
    """Parameters, series data and what happens at each instant."""
    params = {p.name: draw(_param_strategy(p)) for p in spec.params}
    series = draw(st.integers(1, 5))
    bars = draw(st.integers(1, 50))
    columns = []
    for _ in range(series):
        walk = random_walk(bars, seed=draw(st.integers(0, 999)))
        data = [x.copy() for x in inputs_for(spec, walk)]
        lead = draw(st.integers(0, 3))
        data[0][:lead] = np.nan
        for hole in draw(st.lists(st.integers(0, bars - 1), max_size=2)):
            data[-1][hole] = np.nan
        columns.append(data)
    instants = []
    for t in range(bars):
        chosen = draw(st.permutations(range(series)))
        rows = chosen[: draw(st.integers(0, series))]
        event = draw(st.sampled_from(["update", "update", "update", "reset", "warm"]))
        instants.append((t, list(rows), event, draw(st.integers(0, series - 1))))
    return {"params": params, "series": series, "columns": columns, "instants": instants}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_series_equals_its_own_single_stream(spec: IndicatorSpec) -> None:
    batched_factory = spec.extra["batched"]

    @property_settings(12)
    @given(_schedule(spec))
    def check(case: dict[str, Any]) -> None:
        params = case["params"]
        if not _valid(spec, params):
            return
        count = case["series"]
        columns = case["columns"]
        batch = batched_factory(count, **params)
        singles = [spec.stream(**params) for _ in range(count)]
        for t, rows, event, target in case["instants"]:
            if event == "reset":
                batch.reset(index=target)
                singles[target] = spec.stream(**params)
            elif event == "warm":
                history = [x[:t] for x in columns[target]]
                batch.warm(*history, index=target)
                singles[target] = spec.stream(**params)
                singles[target].run(*history)
            if not rows:
                continue
            values = [np.array([columns[j][k][t] for j in rows]) for k in range(len(spec.inputs))]
            got = _as_tuple(batch.update(*values, index=np.array(rows)))
            for position, j in enumerate(rows):
                expected = _as_tuple(singles[j].update(*(float(v[position]) for v in values)))
                for k, out in enumerate(expected):
                    assert _same(got[k][position], out), (spec.name, params, t, j, k)
        for j in range(count):
            np.testing.assert_array_equal(batch.stream(j)._state, singles[j]._state)

    check()


# ---------------------------------------------------------------------------------------
# The API's edges
# ---------------------------------------------------------------------------------------


def _closes(series: int, bars: int = 60) -> npt.NDArray[np.float64]:
    return np.column_stack([random_walk(bars, seed=s).close for s in range(series)])


def test_all_series_by_default_and_outputs_in_order() -> None:
    closes = _closes(4)
    batch = mi.batched.bbands(4, 10)
    for t in range(closes.shape[0]):
        upper, middle, lower = batch.update(closes[t])
    expected = mi.bbands(closes, 10)
    for got, want in zip((upper, middle, lower), expected, strict=True):
        np.testing.assert_array_equal(got, want[-1])
    assert batch.series == 4 and batch.indicator == "bbands"
    assert batch.params["timeperiod"] == 10 and batch.params["ema_unstable"] == 0


def test_integer_outputs_come_back_as_int32() -> None:
    bars = random_walk(40)
    batch = mi.batched.supertrend(2, timeperiod=5)
    for t in range(40):
        line, trend = batch.update(bars.high[t], bars.low[t], bars.close[t])
    assert trend.dtype == np.int32 and line.dtype == np.float64
    np.testing.assert_array_equal(trend, mi.supertrend(bars.high, bars.low, bars.close, 5)[1][-1])


def test_numbers_are_shared_by_every_updated_series() -> None:
    batch = mi.batched.sma(3, timeperiod=2)
    batch.update(1.0)
    np.testing.assert_array_equal(batch.update(np.array([3.0, 5.0]), index=[0, 2]), [2.0, 3.0])
    assert batch.update(7, index=1)[0] == 4.0


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ([0, 4], r"index\[1\]=4 is out of range \[0, 4\)"),
        ([1, -1], r"index\[1\]=-1"),
        ([2, 3, 2], r"index\[2\]=2 .* repeated"),
    ],
)
def test_a_bad_index_updates_nothing(index: list[int], message: str) -> None:
    batch = mi.batched.ema(4, timeperiod=3)
    batch.update(np.arange(4.0))
    before = batch.copy()
    values = np.ones(len(index))
    with pytest.raises(ValueError, match=message):
        batch.update(values, index=index)
    np.testing.assert_array_equal(batch._states, before._states)
    # the scratch marks were cleared: a good call still works afterwards
    assert batch.update(np.ones(2), index=[3, 1]).shape == (2,)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.update(np.ones(3)), "shape"),
        (lambda b: b.update(np.ones(4), np.ones(4)), "needs 1 inputs"),
        (lambda b: b.update(np.array(["a"] * 4)), "expected numbers"),
        (lambda b: b.update(np.ones(1), index=True), "boolean"),
        (lambda b: b.update(np.ones(2), index=np.array([0.0, 1.0])), "integer series"),
        (lambda b: b.update(np.ones(4), index=np.zeros((2, 2), dtype=int)), "1-D"),
        (lambda b: b.reset(index=9), "out of range"),
        (lambda b: b.warm(np.ones((5, 2)), index=[0]), r"shaped \(bars, 1\)"),
        (lambda b: b.warm(np.ones(5)), r"shaped \(bars, 4\)"),
        (lambda b: b.stream(4), "out of range"),
    ],
)
def test_bad_calls_raise_value_errors_naming_the_problem(call: Any, message: str) -> None:
    batch = mi.batched.sma(4, timeperiod=3)
    before = batch._states.copy()
    with pytest.raises(ValueError, match=message):
        call(batch)
    np.testing.assert_array_equal(batch._states, before)


def test_history_of_different_lengths_is_refused() -> None:
    batch = mi.batched.stoch(2)
    with pytest.raises(ValueError, match="differ in length"):
        batch.warm(np.ones((5, 2)), np.ones((5, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="needs 3 history arrays"):
        batch.warm(np.ones((5, 2)))


@pytest.mark.parametrize("series", [0, -1, True, 2.5, "3"])
def test_the_series_count_is_a_positive_integer(series: Any) -> None:
    with pytest.raises(ValueError, match="series"):
        mi.batched.sma(series)


def test_reset_and_warm_touch_only_the_named_series() -> None:
    closes = _closes(3, 80)
    batch = mi.batched.rsi(3, timeperiod=5)
    for t in range(40):
        batch.update(closes[t])
    untouched = batch.stream(0)
    batch.reset(index=[1])
    assert batch.stream(1).leading and not batch.stream(0).leading
    batch.warm(closes[:40, 1:], index=[1, 2])
    np.testing.assert_array_equal(batch.stream(0)._state, untouched._state)
    for t in range(40, 80):
        got = batch.update(closes[t])
    np.testing.assert_array_equal(got, mi.rsi(closes[:80], 5)[-1])
    batch.reset()
    assert all(batch.stream(j).leading for j in range(3))


def test_warm_all_series_from_2d_history_equals_the_batch_function() -> None:
    bars = [random_walk(120, seed=s) for s in range(5)]
    high, low, close = (
        np.column_stack([getattr(b, k) for b in bars]) for k in ("high", "low", "close")
    )
    batch = mi.batched.adx(5, timeperiod=7)
    batch.warm(high[:100], low[:100], close[:100])
    for t in range(100, 120):
        got = batch.update(high[t], low[t], close[t])
    np.testing.assert_array_equal(got, mi.adx(high, low, close, 7)[-1])


def test_one_series_can_be_taken_out_as_a_single_stream() -> None:
    closes = _closes(2)
    batch = mi.batched.macd(2)
    for t in range(50):
        batch.update(closes[t])
    single = batch.stream(1)
    assert isinstance(single, Stream) and single.indicator == "macd"
    single.update(1.0)  # independent of the batch
    assert not np.array_equal(single._state, batch.stream(1)._state)


def test_state_round_trips_through_json_and_pickle() -> None:
    closes = _closes(3)
    batch = mi.batched.kama(3, timeperiod=6)
    for t in range(30):
        batch.update(closes[t])
    restored = mi.batched.from_state(json.loads(json.dumps(batch.state())))
    pickled = pickle.loads(pickle.dumps(batch))
    copied = batch.copy()
    expected = [batch.update(closes[t]) for t in range(30, 60)]
    for other in (restored, pickled, copied):
        assert isinstance(other, BatchedStream) and other.series == 3
        for t, want in zip(range(30, 60), expected, strict=True):
            np.testing.assert_array_equal(other.update(closes[t]), want)
    assert "kama batched stream(timeperiod=6" in repr(batch)


def test_malformed_batched_state_is_refused() -> None:
    state = mi.batched.sma(2, timeperiod=3).state()
    with pytest.raises(ValueError, match="not a batched"):
        BatchedStream.from_state({**state, "kind": "stream"})
    with pytest.raises(ValueError, match="keeps 8 values a series"):
        BatchedStream.from_state({**state, "state": [row[:-1] for row in state["state"]]})
    with pytest.raises(ValueError, match="keeps 8 values a series"):
        BatchedStream.from_state({**state, "state": []})
    with pytest.raises(ValueError, match="not a stream"):
        Stream.from_state(state)


def test_factories_are_reachable_by_name_alias_and_spec() -> None:
    for spec in SPECS:
        assert getattr(mi.batched, spec.name) is spec.extra["batched"]
        for alias in spec.aliases:
            assert getattr(mi.batched, alias) is spec.extra["batched"]
    assert "sma" in dir(mi.batched)
    with pytest.raises(AttributeError, match="no indicator named"):
        _ = mi.batched.no_such_indicator
    assert str(mi.batched.sma.__signature__) == "(series, *, timeperiod=30)"  # type: ignore[attr-defined]
    positional = mi.batched.sma(2, 12)
    assert positional.params == {"timeperiod": 12}
    with pytest.raises(ValueError, match="given twice"):
        mi.batched.sma(2, 12, timeperiod=12)
    assert _define.lookup("keltner").stream is _define.lookup("kc").stream
