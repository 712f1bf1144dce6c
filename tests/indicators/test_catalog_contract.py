"""The contract every catalogued indicator keeps, checked table-driven over the catalogue.

Metadata (inputs, outputs, parameters with defaults and ranges, warm-up), TA-Lib's
signature, invalid parameters refused, 2-D equal to column-by-column 1-D, pandas in and
out, stream equal to batch at every bar (property-tested with hypothesis over random
series and parameters), and state()/from_state()/pickle round trips. New indicators are
covered as soon as they are registered.
"""

from __future__ import annotations

import inspect
import json
import pickle
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import talib.abstract
from hypothesis import HealthCheck, given, settings, strategies as st

import moonlight.indicators as mi
from moonlight.core.plugins import IndicatorSpec, ParamSpec
from moonlight.indicators import _define
from tests.indicators.oracle import Bars, inputs_for, random_walk, talib_function

SPECS = list(mi.catalog())
IDS = [spec.name for spec in SPECS]


def _outputs(value: Any) -> tuple[npt.NDArray[Any], ...]:
    return tuple(value) if isinstance(value, tuple) else (value,)


def _assert_same(a: Any, b: Any, label: str) -> None:
    for k, (x, y) in enumerate(zip(_outputs(a), _outputs(b), strict=True)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=f"{label} out {k}")


def test_catalogue_has_the_39_indicators_of_issue_3() -> None:
    names = {spec.name for spec in SPECS}
    classic = str.split(
        "sma ema wma dema tema trima kama t3 macd rsi stoch stochrsi willr cci mfi roc mom "
        "cmo adx plus_di minus_di aroon bbands atr natr trange obv ad adosc sar ultosc "
        "linearreg vwap supertrend kc donchian ha rvol ichimoku"
    )
    assert set(classic) <= names
    assert any("vwap" in name and name != "vwap" for name in names), "anchored vwap missing"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_metadata_is_complete(spec: IndicatorSpec) -> None:
    assert spec.inputs and spec.outputs and spec.summary and spec.source
    for param in spec.params:
        assert param.kind in (int, float)
        if param.minimum is not None:
            assert param.default >= param.minimum, param
        if param.maximum is not None:
            assert param.default <= param.maximum, param
    defaults = {p.name: p.default for p in spec.params}
    warmup = spec.warmup(**defaults)
    assert isinstance(warmup, int) and warmup >= 0
    description = spec.describe()
    json.dumps(description)  # JSON-ready for ``moonlight plugins --json``
    assert description["warmup_at_defaults"] == warmup


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_batch_signature_is_inputs_then_parameters(spec: IndicatorSpec) -> None:
    signature = inspect.signature(spec.batch)
    names = list(signature.parameters)
    assert names == [*spec.inputs, *(p.name for p in spec.params)]
    for param in spec.params:
        assert signature.parameters[param.name].default == param.default
    indicator = _define.lookup(spec.name)
    assert indicator.kernel.__name__.endswith("_kernel"), indicator.kernel.__name__


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if talib_function(s.name) is not None], ids=lambda s: s.name
)
def test_signature_equals_talib(spec: IndicatorSpec) -> None:
    """Same parameter names, defaults and output order as TA-Lib's abstract info."""
    info = talib.abstract.Function(spec.name.upper()).info
    assert dict(info["parameters"]) == {p.name: p.default for p in spec.params}
    assert list(info["output_names"]) == list(spec.outputs)


def _invalid_values(param: ParamSpec) -> list[Any]:
    values: list[Any] = ["3", None, float("nan")]
    if param.minimum is not None:
        below = param.minimum - 1 if param.kind is int else param.minimum - abs(param.minimum) - 1
        values.append(below)
    if param.maximum is not None:
        values.append(param.maximum + 1 if param.kind is int else param.maximum * 10.0)
    if param.kind is int:
        values.extend([True, 2.5])
    return values


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_invalid_parameters_raise_value_error_naming_them(spec: IndicatorSpec) -> None:
    bars = random_walk(60)
    inputs = inputs_for(spec, bars)
    for param in spec.params:
        for value in _invalid_values(param):
            with pytest.raises(ValueError, match=param.name):
                spec.batch(*inputs, **{param.name: value})
            with pytest.raises(ValueError, match=param.name):
                spec.stream(**{param.name: value})


MULTIPLIERS = ("nbdev", "nbdevup", "nbdevdn", "multiplier", "vfactor")


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if any(p.name in MULTIPLIERS for p in s.params)], ids=lambda s: s.name
)
def test_negative_multipliers_are_refused(spec: IndicatorSpec) -> None:
    """Issue 3: "invalid parameters (timeperiod=0, negative multipliers) raise"."""
    bars = random_walk(60)
    for param in spec.params:
        if param.name in MULTIPLIERS:
            with pytest.raises(ValueError, match=param.name):
                spec.batch(*inputs_for(spec, bars), **{param.name: -1.0})


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_invalid_inputs_raise_value_error_naming_them(spec: IndicatorSpec) -> None:
    bars = random_walk(40)
    inputs = list(inputs_for(spec, bars))
    last = spec.inputs[-1]
    if len(inputs) > 1:
        with pytest.raises(ValueError, match=last):
            spec.batch(*inputs[:-1], inputs[-1][:-1])
    with pytest.raises(ValueError, match=last):
        spec.batch(*inputs[:-1], np.zeros((40, 2, 2)))
    with pytest.raises(ValueError, match=last):
        spec.batch(*inputs[:-1], np.array(["a"] * 40))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_warmup_is_the_number_of_leading_nan(spec: IndicatorSpec) -> None:
    bars = random_walk(400)
    result = _outputs(spec.batch(*inputs_for(spec, bars)))
    defaults = {p.name: p.default for p in spec.params}
    leading = []
    for out in result:
        if out.dtype.kind == "f":
            valid = np.flatnonzero(~np.isnan(out))
            leading.append(int(valid[0]) if valid.size else out.shape[0])
    assert leading, "no float output to measure"
    assert min(leading) == spec.warmup(**defaults)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_integer_inputs_and_float32_are_converted(spec: IndicatorSpec) -> None:
    bars = random_walk(120)
    inputs = inputs_for(spec, bars)
    expected = spec.batch(*(np.round(x) for x in inputs))
    _assert_same(spec.batch(*(np.round(x).astype(np.int64) for x in inputs)), expected, "int")
    as32 = tuple(x.astype(np.float32) for x in inputs)
    _assert_same(spec.batch(*as32), spec.batch(*(x.astype(np.float64) for x in as32)), "f32")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_2d_equals_column_by_column(spec: IndicatorSpec) -> None:
    columns = [random_walk(150, seed=s) for s in range(5)]
    stacked = tuple(
        np.column_stack([bars.column(name) for bars in columns]) for name in spec.inputs
    )
    stacked[0][:3, 1] = np.nan  # one column with leading NaN
    result = _outputs(spec.batch(*stacked))
    for j in range(len(columns)):
        single = _outputs(spec.batch(*(np.ascontiguousarray(a[:, j]) for a in stacked)))
        for k, (matrix, column) in enumerate(zip(result, single, strict=True)):
            assert matrix.shape == stacked[0].shape
            np.testing.assert_array_equal(matrix[:, j], column, err_msg=f"column {j} out {k}")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_pandas_in_gives_pandas_out_on_the_same_index(spec: IndicatorSpec) -> None:
    bars = random_walk(100)
    index = pd.date_range("2024-01-01", periods=100, freq="min", tz="UTC")
    series = [pd.Series(x, index=index) for x in inputs_for(spec, bars)]
    expected = _outputs(spec.batch(*inputs_for(spec, bars)))
    got = _outputs(spec.batch(*series))
    for out, ref in zip(got, expected, strict=True):
        assert isinstance(out, pd.Series)
        assert out.index.equals(index)
        np.testing.assert_array_equal(out.to_numpy(), ref)
    frames = [pd.DataFrame({"a": s, "b": s * 1.01}) for s in series]
    for out in _outputs(spec.batch(*frames)):
        assert isinstance(out, pd.DataFrame)
        assert out.index.equals(index) and list(out.columns) == ["a", "b"]


# ---------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------


def _param_strategy(param: ParamSpec) -> st.SearchStrategy[Any]:
    low = param.minimum if param.minimum is not None else -10
    if param.kind is int:
        high = min(param.maximum if param.maximum is not None else low + 20, int(low) + 20)
        return st.integers(int(low), int(high)).filter(
            lambda v: not (param.name.endswith("matype") and v == 7)
        )
    high = param.maximum if param.maximum is not None else float(low) + 5.0
    high = min(float(high), float(low) + 5.0)
    return st.floats(float(low), high, allow_nan=False, allow_infinity=False)


@st.composite
def _case(draw: st.DrawFn, spec: IndicatorSpec) -> tuple[Bars, dict[str, Any]]:
    params = {p.name: draw(_param_strategy(p)) for p in spec.params}
    n = draw(st.integers(1, 160))
    bars = random_walk(n, seed=draw(st.integers(0, 10_000)))
    lead = draw(st.integers(0, 3))
    holes = draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=3))
    if n > lead + 1 and (lead or holes):
        arrays = {k: bars.column(k).copy() for k in ("open", "high", "low", "close", "volume")}
        arrays[spec.inputs[0] if spec.inputs[0] != "real" else "close"][:lead] = np.nan
        for hole in holes:
            arrays["close"][hole] = np.nan
        bars = Bars("hypothesis", **arrays)
    return bars, params


def _valid(spec: IndicatorSpec, params: dict[str, Any]) -> bool:
    try:
        _define.lookup(spec.name).validate(**params)
    except ValueError:
        return False
    return True


def property_settings(examples: int) -> settings:
    """Hypothesis settings of the per-indicator property tests: reproducible, no deadline
    (the first example of an indicator compiles its kernels)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        derandomize=True,
    )


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_stream_equals_batch_at_every_bar(spec: IndicatorSpec) -> None:
    @property_settings(30)
    @given(_case(spec))
    def check(case: tuple[Bars, dict[str, Any]]) -> None:
        bars, params = case
        if not _valid(spec, params):
            return
        inputs = inputs_for(spec, bars)
        if all(np.isnan(np.column_stack(inputs)).any(axis=1)):
            return  # every bar incomplete: TA-Lib still evaluates the last bar (see docs)
        batch = spec.batch(*inputs, **params)
        stream = spec.stream(**params)
        _assert_same(stream.run(*inputs), batch, f"{spec.name}{params}")

    check()


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_stream_resumed_from_its_snapshot_at_any_bar_equals_the_batch(
    spec: IndicatorSpec,
) -> None:
    @property_settings(10)
    @given(_case(spec), st.floats(0.0, 1.0))
    def check(case: tuple[Bars, dict[str, Any]], where: float) -> None:
        bars, params = case
        if not _valid(spec, params):
            return
        inputs = inputs_for(spec, bars)
        if all(np.isnan(np.column_stack(inputs)).any(axis=1)):
            return  # every bar incomplete: see test_stream_equals_batch_at_every_bar
        cut = int(where * len(bars))
        first = spec.stream(**params)
        head = first.run(*(x[:cut] for x in inputs))
        resumed = mi.stream.from_state(json.loads(json.dumps(first.state())))
        tail = resumed.run(*(x[cut:] for x in inputs))
        joined = tuple(
            np.concatenate((a, b)) for a, b in zip(_outputs(head), _outputs(tail), strict=True)
        )
        _assert_same(joined, spec.batch(*inputs, **params), f"{spec.name}{params} cut {cut}")

    check()


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_stream_history_then_updates(spec: IndicatorSpec) -> None:
    bars = random_walk(200)
    inputs = inputs_for(spec, bars)
    batch = _outputs(spec.batch(*inputs))
    stream = spec.stream(*(x[:150] for x in inputs))
    for i in range(150, 200):
        value = stream.update(*(float(x[i]) for x in inputs))
        got = value if isinstance(value, tuple) else (value,)
        for k, out in enumerate(batch):
            np.testing.assert_array_equal(np.asarray(got[k]), out[i], err_msg=f"bar {i} out {k}")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_state_round_trip_json_and_pickle(spec: IndicatorSpec) -> None:
    bars = random_walk(240)
    inputs = inputs_for(spec, bars)
    for cut in (2, 120):  # inside the warm-up and after it
        original = spec.stream()
        original.run(*(x[:cut] for x in inputs))
        restored = mi.stream.from_state(json.loads(json.dumps(original.state())))
        pickled = pickle.loads(pickle.dumps(original))
        copied = original.copy()
        for other in (restored, pickled, copied):
            assert type(other) is type(original)
        rest = tuple(x[cut:] for x in inputs)
        expected = original.run(*rest)
        for other in (restored, pickled, copied):
            _assert_same(other.run(*rest), expected, f"{spec.name} cut {cut}")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_stream_skips_leading_nan_like_the_batch(spec: IndicatorSpec) -> None:
    bars = random_walk(120)
    inputs = [x.copy() for x in inputs_for(spec, bars)]
    inputs[0][:5] = np.nan
    inputs[-1][3:7] = np.nan
    batch = spec.batch(*inputs)
    stream = spec.stream()
    _assert_same(stream.run(*inputs), batch, spec.name)
    assert stream.leading is False
