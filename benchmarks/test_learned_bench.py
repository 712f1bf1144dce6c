"""Learned-strategy inference: 120 workers of one model due at one instant.

Target (issue 20): 120 workers at one instant in < 1 ms. The model is the default
learner (HistGradientBoosting, early-stopped) trained on 30,000 planted-edge bars with
the default 11-column feature spec, exported to ONNX and run by onnxruntime on one
thread.

Strategy level -- what the decision path pays (feature rows from each worker's streaming
indicator values, the model, each worker's signal). Every worker has its own candles;
all workers share the instant's bar time, as at a real bar close. Indicator updates are
done before the timing (the step updates them separately), so a round is strategy
evaluation only:

* ``grouped_120_workers`` -- :func:`~moonlight.core.strategy.batch.evaluate_grouped`
  over the 120 workers: ONE onnxruntime run (what the synchronous decision step does);
  its median is held to the target (the p90 is reported with the load average: on the
  shared 2-core machine at load 7 more than one round in ten is preempted for
  milliseconds, which measures the scheduler, not this code);
* ``single_120_workers`` -- ``evaluate`` worker by worker: 120 runs (what the engine
  does while it still evaluates workers one by one).

Model level -- ``predict`` alone on 120 real feature rows: ``batch_120`` one call,
``single_x120`` 120 one-row calls.

Run: ``python -m pytest benchmarks/test_learned_bench.py -m bench --benchmark-enable``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moonlight.core.strategy.api import Bar, IndicatorValue, Signal, price_arrays
from moonlight.core.strategy.batch import evaluate_grouped
from moonlight.core.strategy.indicators import IndicatorFeed, registry_indicator_source
from moonlight.strategies.ml.dataset import dataset_from_candles, feature_matrix
from moonlight.strategies.ml.features import DEFAULT_SPEC
from moonlight.strategies.ml.registry import ModelRegistry
from moonlight.strategies.ml.serving import ModelServer, OnnxModel
from moonlight.strategies.ml.strategy import Learned, LearnedParams
from moonlight.strategies.ml.synthetic import planted_edge_candles
from moonlight.strategies.ml.train import TrainConfig, train

pytestmark = pytest.mark.bench

WORKERS = 120
ROUNDS = 300
TARGET_S = 1e-3

#: One instant: (bar, indicator values) per worker.
Instant = list[tuple[Bar, dict[str, IndicatorValue]]]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_registry(Path(tmp_path_factory.mktemp("registry")))


def trained_registry(root: Path) -> Path:
    """``root`` with the model ``bench`` trained, registered and promoted."""
    series, _ = planted_edge_candles(30_000, seed=3)
    frame = dataset_from_candles(series, DEFAULT_SPEC, expiry_s=60.0)
    config = TrainConfig(name="bench", candles=Path("unused"), folds=2, registry_dir=root)
    card = train(config, frame=frame).card
    ModelRegistry(root).promote("bench", card.version)
    return root


@pytest.fixture(scope="module")
def model_and_rows(registry: Path) -> tuple[OnnxModel, np.ndarray]:
    series, _ = planted_edge_candles(2_000, seed=4)
    x, _ = feature_matrix(dataset_from_candles(series, DEFAULT_SPEC, expiry_s=60.0), DEFAULT_SPEC)
    return ModelServer(ModelRegistry(registry), "bench").model, np.ascontiguousarray(x[-WORKERS:])


def _workers(registry: Path) -> list[Learned]:
    return [Learned(LearnedParams(model="bench", registry_dir=registry)) for _ in range(WORKERS)]


@pytest.fixture(scope="module")
def instants(registry: Path) -> tuple[list[Instant], list[Instant]]:
    return timeline(registry)


def timeline(registry: Path) -> tuple[list[Instant], list[Instant]]:
    """(warm-up instants, timed instants): every worker's own candles, one bar time."""
    warmup = _workers(registry)[0].warmup_bars + 5
    bars = warmup + ROUNDS
    series, _ = planted_edge_candles(WORKERS * bars, seed=5)
    prices = price_arrays(series.columns())
    columns = [prices[c] for c in ("open", "high", "low", "close", "volume")]
    feeds = [
        IndicatorFeed(DEFAULT_SPEC.needs(), registry_indicator_source()) for _ in range(WORKERS)
    ]
    instants: list[Instant] = []
    for t in range(bars):
        instant: Instant = []
        for w, feed in enumerate(feeds):
            i = w * bars + t
            bar = Bar(*(float(c[i]) for c in columns), start_ts=1.7e9 + 60.0 * t)
            instant.append((bar, dict(feed.update(bar))))
        instants.append(instant)
    return instants[:warmup], instants[warmup:]


def _percentiles_us(benchmark: Any) -> tuple[float, float]:
    """(median, p90) of the rounds in µs, also stored with the load average."""
    data = np.asarray(benchmark.stats.stats.data)
    if hasattr(os, "getloadavg"):  # POSIX only; the figure says how busy the machine was
        benchmark.extra_info["load_average_1min"] = os.getloadavg()[0]
    median, p90 = (float(np.percentile(data, q) * 1e6) for q in (50, 90))
    benchmark.extra_info.update({"median_us": median, "p90_us": p90})
    return median, p90


def _grouped(workers: list[Learned], instant: Instant) -> list[Signal]:
    return evaluate_grouped(
        [(s, bar, values) for s, (bar, values) in zip(workers, instant, strict=True)]
    )


def _single(workers: list[Learned], instant: Instant) -> list[Signal]:
    return [s.evaluate(bar, values) for s, (bar, values) in zip(workers, instant, strict=True)]


def _run(benchmark: Any, step: Any, registry: Path, instants: tuple) -> list[list[Signal]]:
    """Warm every worker up, then time ``step`` once per instant; all signals returned."""
    warmup, timed = instants
    workers = _workers(registry)
    for instant in warmup:
        step(workers, instant)
    feed = iter(timed)
    signals: list[list[Signal]] = []
    benchmark.pedantic(
        lambda: signals.append(step(workers, next(feed))),
        rounds=ROUNDS,
        iterations=1,
        warmup_rounds=0,
    )
    return signals


def test_grouped_120_workers(benchmark: Any, registry: Path, instants: tuple) -> None:
    signals = _run(benchmark, _grouped, registry, instants)
    median, p90 = _percentiles_us(benchmark)
    print(f"\n{WORKERS} workers through evaluate_grouped: median {median:.1f} µs, p90 {p90:.1f} µs")
    assert signals == _run_plain(_single, registry, instants)  # the batch changes nothing
    assert any(s.direction.value != "none" for round_ in signals for s in round_)
    assert median < TARGET_S * 1e6


def _run_plain(step: Any, registry: Path, instants: tuple) -> list[list[Signal]]:
    warmup, timed = instants
    workers = _workers(registry)
    for instant in warmup:
        step(workers, instant)
    return [step(workers, instant) for instant in timed]


def test_single_120_workers(benchmark: Any, registry: Path, instants: tuple) -> None:
    _run(benchmark, _single, registry, instants)
    median, p90 = _percentiles_us(benchmark)
    print(f"\n{WORKERS} workers one evaluate each: median {median:.1f} µs, p90 {p90:.1f} µs")


def test_batch_120(benchmark: Any, model_and_rows: tuple[OnnxModel, np.ndarray]) -> None:
    model, rows = model_and_rows
    result = benchmark(model.predict, rows)
    assert result.shape == (WORKERS,)


def test_single_x120(benchmark: Any, model_and_rows: tuple[OnnxModel, np.ndarray]) -> None:
    model, rows = model_and_rows
    singles = [rows[i : i + 1] for i in range(WORKERS)]

    def one_call_per_worker() -> list[float]:
        return [float(model.predict(row)[0]) for row in singles]

    assert len(benchmark(one_call_per_worker)) == WORKERS
