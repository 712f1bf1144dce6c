"""The indicator framework: input handling, define(), generated drivers, streams' state,
unstable periods, compiled entry points, the catalogue and the plugin hook, and lazy
compilation."""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from numba import njit

import moonlight.indicators as mi
from moonlight.core.plugins import ComponentKind, IndicatorSpec, build_plugin_host
from moonlight.indicators import (
    _codegen,
    _declarations,
    _define,
    _inputs,
    _streams,
    overlap,
    plugin,
)
from moonlight.indicators._define import define, implement
from moonlight.indicators._streams import Stream
from tests.indicators.oracle import random_walk

# ---------------------------------------------------------------------------------------
# _inputs
# ---------------------------------------------------------------------------------------


def test_numeric_inputs_become_contiguous_float64() -> None:
    for value in ([1, 2, 3], np.arange(3, dtype=np.int32), np.ones(3, dtype=np.float32)):
        array = _inputs.as_float_array("real", value)
        assert array.dtype == np.float64 and array.flags.c_contiguous
    strided = np.arange(10.0)[::2]
    assert _inputs.as_float_array("real", strided).flags.c_contiguous


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array(["a", "b"]), "numeric"),
        (np.array([True, False]), "numeric"),
        (np.zeros((2, 2, 2)), "dimension"),
        (3.0, "dimension"),
        ([[1.0], [2.0, 3.0]], "real"),
    ],
)
def test_bad_inputs_name_the_argument(value: object, message: str) -> None:
    with pytest.raises(ValueError, match="real") as info:
        _inputs.as_float_array("real", value)
    assert message in str(info.value)


def test_inputs_of_different_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="low: shape"):
        _inputs.prepare(("high", "low"), (np.ones(5), np.ones(4)))
    with pytest.raises(ValueError, match="low: shape"):
        _inputs.prepare(("high", "low"), (np.ones((5, 2)), np.ones((5, 3))))


@pytest.mark.parametrize("value", [3, 3.0, np.int64(3), np.float32(3.0)])
def test_check_int_accepts_integral_values(value: object) -> None:
    assert _inputs.check_int("timeperiod", value, 1, 10) == 3


@pytest.mark.parametrize("value", [True, 2.5, "3", None, float("nan"), float("inf"), 0, 11])
def test_check_int_refuses_and_names_the_parameter(value: object) -> None:
    with pytest.raises(ValueError, match="timeperiod"):
        _inputs.check_int("timeperiod", value, 1, 10)


@pytest.mark.parametrize("value", [True, "1", float("nan"), float("inf"), -0.1, 5.5])
def test_check_float_refuses_and_names_the_parameter(value: object) -> None:
    with pytest.raises(ValueError, match="nbdev"):
        _inputs.check_float("nbdev", value, 0.0, 5.0)


def test_pandas_labels_come_back() -> None:
    index = pd.date_range("2024", periods=40, freq="h")
    close = pd.Series(random_walk(40).close, index=index)
    upper, middle, lower = mi.bbands(close, timeperiod=5)
    assert all(isinstance(s, pd.Series) and s.index.equals(index) for s in (upper, middle, lower))
    assert [upper.name, middle.name, lower.name] == ["upperband", "middleband", "lowerband"]
    frame = pd.DataFrame({"x": close, "y": close + 1.0})
    result = mi.sma(frame, 3)
    assert isinstance(result, pd.DataFrame) and list(result.columns) == ["x", "y"]
    np.testing.assert_array_equal(result["y"].to_numpy(), mi.sma((close + 1.0).to_numpy(), 3))


# ---------------------------------------------------------------------------------------
# define() and the generated batch function
# ---------------------------------------------------------------------------------------


def test_generated_function_has_talib_signature_and_metadata() -> None:
    assert str(inspect.signature(mi.sma)) == "(real, timeperiod=30)"
    assert mi.sma.kernel is overlap.sma_kernel
    assert isinstance(mi.sma.spec, IndicatorSpec)
    assert "Streaming" in (mi.sma.__doc__ or "")


def test_names_and_aliases_cannot_be_declared_or_implemented_twice() -> None:
    sma = _declarations.DECLARATIONS["sma"]
    with pytest.raises(ValueError, match="already implemented"):
        define(
            sma, kernel=overlap.sma_kernel, state=overlap._ma.sma_state, step=overlap._ma.sma_step
        )
    with pytest.raises(ValueError, match="declared twice"):
        _declarations._by_name([sma, dataclasses.replace(sma, name="other", aliases=("sma",))])
    with pytest.raises(ValueError, match="int_outputs"):
        dataclasses.replace(sma, name="not_declared", int_outputs=("nope",))
    with pytest.raises(ValueError, match="not declared"):
        implement("not_declared", vars(overlap))
    assert "not_declared" not in _define.REGISTRY


def fresh_python(script: str) -> list[str]:
    """What ``script`` prints in a fresh interpreter, split into words."""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_plugin_specs_import_no_kernel_until_used() -> None:
    """The plugin hook describes every indicator from the table: a fresh interpreter
    registering them imports neither Numba nor an indicator module until one is called."""
    script = (
        "import sys\n"
        "from moonlight.indicators import plugin\n"
        "specs = plugin.moonlight_register_indicators()\n"
        "described = [s.describe() for s in specs]\n"
        "print('numba' in sys.modules, 'moonlight.indicators.overlap' in sys.modules)\n"
        "print(specs[0].batch([1.0, 2.0, 3.0], timeperiod=2)[-1], 'numba' in sys.modules)\n"
    )
    assert fresh_python(script) == ["False", "False", "2.5", "True"]


def test_plugin_specs_describe_what_the_package_implements() -> None:
    specs = {s.name: s for s in plugin.moonlight_register_indicators()}
    for spec in mi.catalog():
        assert specs[spec.name].describe() == spec.describe()
        assert specs[spec.name].extra["group"] == spec.extra["group"]


def test_fast_and_general_paths_agree() -> None:
    values = random_walk(300).close
    strided = np.repeat(values, 2)[::2]  # non-contiguous view
    as_list = values.tolist()
    expected = mi.kama(values, 10)
    for other in (strided, as_list, values.astype(np.float32).astype(np.float64)):
        np.testing.assert_array_equal(mi.kama(other, 10), mi.kama(np.asarray(other), 10))
    np.testing.assert_array_equal(mi.kama(strided, 10), expected)


def test_2d_driver_is_generated_from_the_kernel_signature() -> None:
    driver = _define.lookup("bbands").kernel_2d
    source = driver.py_func.__source__
    assert "def bbands_kernel_2d(real, timeperiod," in source
    assert "KERNEL(real[:, j], timeperiod," in source and "lowerband[:, j])" in source
    assert driver.py_func.__module__ == "moonlight.indicators.overlap"
    matrix = np.column_stack([random_walk(80, seed=s).close for s in range(3)])
    bands = mi.bbands(matrix, 7)
    for k, band in enumerate(mi.bbands(matrix[:, 2].copy(), 7)):
        np.testing.assert_array_equal(bands[k][:, 2], band)


def test_generated_stream_drivers_name_the_indicator() -> None:
    kernel = _define.lookup("stoch").stream
    update = kernel.update.py_func.__source__
    assert update.startswith("def stoch_update(state, high, low, close):")
    assert "if high != high or low != low or close != close:" in update
    assert "return (NAN, NAN)" in update and "return STEP(state, 1, high, low, close)" in update
    many = kernel.update_many.py_func.__source__
    assert "o0[k], o1[k] = UPDATE(states[index[k]], x0[k], x1[k], x2[k])" in many
    supertrend = _define.lookup("supertrend").stream.update.py_func.__source__
    assert "return (NAN, 0)" in supertrend  # integer outputs warm up as 0


def test_generated_names_must_be_identifiers() -> None:
    with pytest.raises(ValueError, match="argument name"):
        _codegen.stream_update("x", overlap._ma.sma_step, ("not valid",), ("real",), frozenset())


def test_kernels_are_callable_from_user_numba_code() -> None:
    @njit
    def my_strategy(close: np.ndarray) -> float:
        out = np.empty(close.shape[0])
        overlap.ema_kernel(close, 10, 0, out)
        return out[-1] - close[-1]

    close = random_walk(100).close
    assert my_strategy(close) == pytest.approx(mi.ema(close, 10)[-1] - close[-1])


# ---------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------


def test_stream_factory_accepts_history_and_positional_parameters() -> None:
    close = random_walk(120).close
    from_history = mi.stream.sma(close[:100], 12)
    fresh = mi.stream.sma(timeperiod=12)
    fresh.run(close[:100])
    for value in close[100:]:
        assert from_history.update(float(value)) == fresh.update(float(value))
    with pytest.raises(ValueError, match="history needs 3 arrays"):
        mi.stream.stoch(close[:10])
    with pytest.raises(ValueError, match="given twice"):
        mi.stream.sma(12, timeperiod=12)
    with pytest.raises(ValueError, match="unknown parameter"):
        mi.stream.sma(period=12)
    with pytest.raises(AttributeError):
        _ = mi.stream.no_such_indicator


def test_leading_nan_gate_survives_a_state_round_trip() -> None:
    stream = mi.stream.ema(timeperiod=3)
    assert np.isnan(stream.update(float("nan")))
    assert stream.leading is True
    restored = Stream.from_state(json.loads(json.dumps(stream.state())))
    assert np.isnan(restored.update(float("nan")))
    values = [restored.update(v) for v in (1.0, 2.0, 3.0, 4.0)]
    assert np.isnan(values[1]) and values[2] == 2.0 and restored.leading is False


def test_state_is_refused_when_malformed() -> None:
    state = mi.stream.sma(timeperiod=3).state()
    assert state["params"] == {"timeperiod": 3}
    with pytest.raises(ValueError, match="format"):
        Stream.from_state({**state, "format": 1})
    with pytest.raises(ValueError, match="no indicator named"):
        Stream.from_state({**state, "indicator": "os.system"})
    with pytest.raises(ValueError, match="not a stream"):
        Stream.from_state({**state, "kind": "batched"})
    with pytest.raises(ValueError, match="timeperiod"):
        Stream.from_state({**state, "params": {"timeperiod": 0}})
    with pytest.raises(ValueError, match="unknown parameter"):
        Stream.from_state({**state, "params": {"timeperiod": 3, "extra": 1}})
    with pytest.raises(ValueError, match="keeps 8 values"):
        Stream.from_state({**state, "state": state["state"][:-1]})
    with pytest.raises(ValueError, match="params must be a mapping"):
        Stream.from_state({**state, "params": [3]})
    ema = mi.stream.ema(timeperiod=3).state()
    with pytest.raises(ValueError, match="unstable period unstable missing"):
        Stream.from_state({**ema, "params": {"timeperiod": 3}})
    with pytest.raises(ValueError, match="unstable"):
        Stream.from_state({**ema, "params": {"timeperiod": 3, "unstable": -1}})


def test_an_unconvertible_bar_raises_and_changes_nothing() -> None:
    stream = mi.stream.rsi(timeperiod=3)
    stream.run(random_walk(10).close)
    before = stream.state()
    for bad in (None, [1.0], object()):
        with pytest.raises(TypeError):
            stream.update(bad)
    assert stream.state() == before


def test_stream_run_needs_one_array_per_input() -> None:
    with pytest.raises(ValueError, match="needs 3 arrays"):
        mi.stream.stoch().run(np.ones(4))
    assert repr(mi.stream.sma(timeperiod=4)) == "<sma stream(timeperiod=4)>"


def test_compiled_entry_point_equals_the_dispatcher() -> None:
    state = np.array(overlap._ma.dema_state(10))
    entry = _streams.compiled(overlap._ma.dema_step, state, 0, 0.0)
    assert entry is _streams.compiled(overlap._ma.dema_step, state, 0, 1.0)
    other = state.copy()
    for value in (1.0, 2.0, 3.0):
        assert np.array_equal(
            entry(state, 0, value), overlap._ma.dema_step(other, 0, value), equal_nan=True
        )
    np.testing.assert_array_equal(state, other)


# ---------------------------------------------------------------------------------------
# Unstable periods
# ---------------------------------------------------------------------------------------


@pytest.fixture
def reset_unstable() -> Iterator[None]:
    yield
    mi.set_unstable_period("ALL", 0)


def test_unstable_period_settings(reset_unstable: None) -> None:
    close = random_walk(100).close
    base = int(np.isnan(mi.ema(close, 10)).sum())
    mi.set_unstable_period("EMA", 5)
    assert mi.get_unstable_period("EMA") == 5
    assert int(np.isnan(mi.ema(close, 10)).sum()) == base + 5
    assert mi.ema.spec.warmup(timeperiod=10) == base + 5
    mi.set_unstable_period("ALL", 2)
    assert mi.get_unstable_period("KAMA") == 2 and mi.get_unstable_period("EMA") == 2
    with pytest.raises(ValueError, match="name"):
        mi.set_unstable_period("SMA", 3)
    with pytest.raises(ValueError, match="period"):
        mi.set_unstable_period("EMA", -1)
    with pytest.raises(ValueError, match="name"):
        mi.get_unstable_period("nope")


# ---------------------------------------------------------------------------------------
# Catalogue, plugin hook, public surface
# ---------------------------------------------------------------------------------------


def test_every_indicator_is_reachable_by_name_alias_and_stream() -> None:
    for spec in mi.catalog():
        assert getattr(mi, spec.name) is spec.batch
        assert getattr(mi.stream, spec.name) is spec.stream
        for alias in spec.aliases:
            assert getattr(mi, alias) is spec.batch
            assert getattr(mi.stream, alias) is spec.stream
    assert {"keltner", "heikin_ashi"} <= set(_define.ALIASES)
    with pytest.raises(AttributeError):
        _ = mi.no_such_indicator


def test_describe_is_json_ready_and_grouped() -> None:
    from moonlight.indicators.catalog import describe

    described = describe()
    assert len(described) == len(mi.catalog())
    assert {d["group"] for d in described} >= {"overlap", "momentum", "volatility", "volume"}
    json.dumps(described)


def test_plugin_hook_returns_the_catalogue() -> None:
    specs = plugin.moonlight_register_indicators()
    assert [s.name for s in specs] == [s.name for s in mi.catalog()]


def test_plugin_host_registers_every_indicator() -> None:
    host = build_plugin_host(
        environ={"MOONLIGHT_DISABLE_PLUGINS": "*"}, extra_plugins=[("indicators-test", plugin)]
    )
    names = host.registry.names(ComponentKind.INDICATOR)
    assert {s.name for s in mi.catalog()} <= set(names)


def test_import_compiles_nothing_and_is_measured() -> None:
    """A fresh interpreter imports the package without compiling any kernel."""
    script = (
        "import time; t = time.perf_counter(); import moonlight.indicators as mi; "
        "mi.load(); elapsed = time.perf_counter() - t\n"
        "from moonlight.indicators import _define\n"
        "compiled = [i.name for i in _define.REGISTRY.values() if i.kernel.signatures]\n"
        "print(len(compiled), round(elapsed, 3))"
    )
    count, _elapsed = fresh_python(script)
    assert count == "0"


def test_thread_setting_changes_speed_not_results() -> None:
    matrix = np.column_stack([random_walk(60, seed=s).close for s in range(8)])
    expected = mi.rsi(matrix)
    assert mi.get_threads() == 1
    try:
        mi.set_threads(2)
        assert mi.get_threads() == 2
        np.testing.assert_array_equal(mi.rsi(matrix), expected)
    finally:
        mi.set_threads(1)
    with pytest.raises(ValueError, match="count"):
        mi.set_threads(0)
