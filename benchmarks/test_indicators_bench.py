"""Indicators side by side with TA-Lib 0.8.2, in the same process (issues 3 and 17).

Five groups, table-driven from ``moonlight.indicators.catalog()``; every MoonLight
figure has its TA-Lib twin measured in the same run, so the report is a ratio:

* ``suite-200``: all TA-Lib-exact indicators back to back on 200 bars (numpy path);
  target <= 1.5x TA-Lib's total and p90 < 150 us.
* ``bars-100k``: each indicator on 100,000 bars; target <= 1.5x TA-Lib.
* ``2d-500x200``: 500 series x 200 bars in one 2-D call per indicator against a Python
  loop of TA-Lib calls over the columns; target >= 1.5x faster.
* ``stream``: one ``update`` after 200 bars of history against ``talib.stream``'s
  (issue 17: <= 1.5x TA-Lib at the median over the indicators, <= 3x for the worst);
  <= 1 us absolute for ichimoku and anchored_vwap (no TA-Lib twin).
* ``batched-120`` / ``batched-10000``: one instant for 120 and 10,000 series (each
  warmed on 200 bars): one ``BatchedStream.update`` (``moonlight``) against a Python
  loop of single MoonLight streams (``loop``) and a loop of ``talib.stream`` updates
  (``talib``), the anchor.

Run: ``python -m pytest benchmarks/test_indicators_bench.py -m bench --benchmark-enable
--benchmark-only --benchmark-json=.benchmarks/indicators.json -p no:cacheprovider``; then
``python benchmarks/indicators_report.py .benchmarks/indicators.json`` rewrites
docs/benchmarks/indicators.md and the indicator rows of docs/benchmarks.md. Each result
carries its p90 (from every round's timing) in ``extra_info`` because pytest-benchmark
reports no percentiles.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest
import talib
import talib.stream

import moonlight.indicators as mi
from moonlight.core.plugins import IndicatorSpec
from tests.indicators.oracle import Bars, inputs_for, random_walk, talib_exact_specs

pytestmark = pytest.mark.bench

EXACT = talib_exact_specs()
ALL = list(mi.catalog())
IMPLEMENTATIONS = ("moonlight", "talib")
N_SERIES = 500
#: Issue 17 measures stream updates after 200 bars of history.
STREAM_WARM_BARS = 200
BATCHED_SERIES = (120, 10_000)
BATCHED_IMPLEMENTATIONS = ("moonlight", "loop", "talib")


def _record(benchmark: Any, **info: Any) -> None:
    """Put the p90 of the rounds (per call) and labels into the JSON ``extra_info``."""
    data = np.asarray(benchmark.stats.stats.data, dtype=np.float64)
    benchmark.extra_info["p90_s"] = float(np.percentile(data, 90))
    benchmark.extra_info.update(info)


def _talib_batch(spec: IndicatorSpec) -> Callable[..., Any]:
    function = getattr(talib, spec.name.upper())
    assert callable(function)
    return function  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------
# All TA-Lib-exact indicators back to back on 200 bars
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_suite_200_bars(benchmark: Any, impl: str) -> None:
    bars = random_walk(200)
    calls = [
        (spec.batch if impl == "moonlight" else _talib_batch(spec), inputs_for(spec, bars))
        for spec in EXACT
    ]

    def run_all() -> None:
        for function, inputs in calls:
            function(*inputs)

    run_all()  # compile / load the kernels outside the timing
    benchmark.group = "suite-200"
    benchmark.pedantic(run_all, rounds=300, iterations=1, warmup_rounds=20)
    _record(benchmark, group="suite-200", impl=impl, indicator="all", count=len(calls))


# ---------------------------------------------------------------------------------------
# Each indicator on 100,000 bars
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("spec", EXACT, ids=lambda s: s.name)
def test_each_indicator_100k_bars(benchmark: Any, spec: IndicatorSpec, impl: str) -> None:
    inputs = inputs_for(spec, random_walk(100_000, seed=9))
    function = spec.batch if impl == "moonlight" else _talib_batch(spec)
    function(*inputs)
    benchmark.group = "bars-100k"
    benchmark.pedantic(function, args=inputs, rounds=15, iterations=1, warmup_rounds=2)
    _record(benchmark, group="bars-100k", impl=impl, indicator=spec.name)


# ---------------------------------------------------------------------------------------
# 500 series x 200 bars
# ---------------------------------------------------------------------------------------


def _panel(spec: IndicatorSpec) -> tuple[np.ndarray, ...]:
    series = [random_walk(200, seed=s) for s in range(N_SERIES)]
    return tuple(np.column_stack([bars.column(name) for bars in series]) for name in spec.inputs)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("spec", EXACT, ids=lambda s: s.name)
def test_2d_500_series(benchmark: Any, spec: IndicatorSpec, impl: str) -> None:
    panel = _panel(spec)
    if impl == "moonlight":

        def run() -> Any:
            return spec.batch(*panel)

    else:
        function = _talib_batch(spec)

        def run() -> Any:
            # What a user does without 2-D support: one call per column.
            return [function(*(a[:, j] for a in panel)) for j in range(N_SERIES)]

    run()
    benchmark.group = "2d-500x200"
    benchmark.pedantic(run, rounds=15, iterations=1, warmup_rounds=2)
    _record(benchmark, group="2d-500x200", impl=impl, indicator=spec.name)


# ---------------------------------------------------------------------------------------
# Streaming updates
# ---------------------------------------------------------------------------------------


def _stream_pair(spec: IndicatorSpec, impl: str, bars: Bars) -> tuple[Any, list[float]]:
    inputs = inputs_for(spec, bars)
    history = tuple(x[:STREAM_WARM_BARS] for x in inputs)
    bar = [float(x[STREAM_WARM_BARS]) for x in inputs]
    if impl == "moonlight":
        return spec.stream(*history).update, bar
    factory = getattr(talib.stream, spec.name.upper())
    return factory(*history).update, bar


STREAM_CASES = [
    (spec, impl)
    for spec in ALL
    for impl in IMPLEMENTATIONS
    if impl == "moonlight" or hasattr(talib.stream, spec.name.upper())
]


@pytest.mark.parametrize(
    ("spec", "impl"), STREAM_CASES, ids=[f"{s.name}-{i}" for s, i in STREAM_CASES]
)
def test_stream_update(benchmark: Any, spec: IndicatorSpec, impl: str) -> None:
    update, bar = _stream_pair(spec, impl, random_walk(STREAM_WARM_BARS + 1, seed=3))
    update(*bar)
    benchmark.group = "stream"
    benchmark.pedantic(update, args=bar, rounds=40, iterations=2_000, warmup_rounds=3)
    _record(benchmark, group="stream", impl=impl, indicator=spec.name)


# ---------------------------------------------------------------------------------------
# Batched streams: one instant for many series
# ---------------------------------------------------------------------------------------


@cache
def _walks(series: int) -> tuple[Bars, ...]:
    """``series`` independent random walks of 201 bars (200 of history, one to update)."""
    return tuple(random_walk(STREAM_WARM_BARS + 1, seed=1_000 + j) for j in range(series))


def _batched_run(spec: IndicatorSpec, impl: str, series: int) -> Callable[[], Any]:
    """One instant of ``series`` series, each warmed on 200 bars, as ``impl`` does it."""
    per_series = [inputs_for(spec, bars) for bars in _walks(series)]
    bars = [tuple(float(x[STREAM_WARM_BARS]) for x in inputs) for inputs in per_series]
    if impl == "moonlight":
        history = [
            np.column_stack([inputs[k][:STREAM_WARM_BARS] for inputs in per_series])
            for k in range(len(spec.inputs))
        ]
        batch = spec.extra["batched"](series)
        batch.warm(*history)
        values = [np.array([bar[k] for bar in bars]) for k in range(len(spec.inputs))]
        return lambda: batch.update(*values)
    if impl == "loop":
        updates = [
            spec.stream(*(x[:STREAM_WARM_BARS] for x in inputs)).update for inputs in per_series
        ]
    else:
        factory = getattr(talib.stream, spec.name.upper())
        updates = [factory(*(x[:STREAM_WARM_BARS] for x in inputs)).update for inputs in per_series]
    pairs = list(zip(updates, bars, strict=True))
    return lambda: [update(*bar) for update, bar in pairs]


BATCHED_CASES = [
    (spec, impl, series)
    for series in BATCHED_SERIES
    for spec in EXACT
    for impl in BATCHED_IMPLEMENTATIONS
]


@pytest.mark.parametrize(
    ("spec", "impl", "series"),
    BATCHED_CASES,
    ids=[f"{s.name}-{i}-{n}" for s, i, n in BATCHED_CASES],
)
def test_batched_update(benchmark: Any, spec: IndicatorSpec, impl: str, series: int) -> None:
    run = _batched_run(spec, impl, series)
    run()
    group = f"batched-{series}"
    benchmark.group = group
    rounds, iterations = (40, 20) if series < 1_000 else (15, 1)
    benchmark.pedantic(run, rounds=rounds, iterations=iterations, warmup_rounds=2)
    _record(benchmark, group=group, impl=impl, indicator=spec.name, series=series)
