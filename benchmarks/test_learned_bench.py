"""Learned-strategy inference: a model scoring every worker due at one instant.

Target (issue 20): 120 workers at one instant in < 1 ms. The model is the default
learner (HistGradientBoosting, early-stopped) trained on 30,000 planted-edge bars with
the default 11-column feature spec, exported to ONNX and run by onnxruntime on one
thread. Rows are real feature rows of those candles.

* ``batch_120`` -- one ``predict`` call with 120 rows (what batching all workers at an
  instant costs);
* ``single_x120`` -- 120 one-row calls (what the worker loop does today, one call per
  worker).

Run: ``python -m pytest benchmarks/test_learned_bench.py -m bench --benchmark-enable``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moonlight.strategies.ml.dataset import dataset_from_candles, feature_matrix
from moonlight.strategies.ml.features import DEFAULT_SPEC
from moonlight.strategies.ml.registry import ModelRegistry
from moonlight.strategies.ml.serving import ModelServer, OnnxModel
from moonlight.strategies.ml.synthetic import planted_edge_candles
from moonlight.strategies.ml.train import TrainConfig, train

pytestmark = pytest.mark.bench

WORKERS = 120


@pytest.fixture(scope="module")
def model_and_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[OnnxModel, np.ndarray]:
    series, _ = planted_edge_candles(30_000, seed=3)
    frame = dataset_from_candles(series, DEFAULT_SPEC, expiry_s=60.0)
    root = Path(tmp_path_factory.mktemp("registry"))
    config = TrainConfig(name="bench", candles=Path("unused"), folds=2, registry_dir=root)
    card = train(config, frame=frame).card
    ModelRegistry(root).promote("bench", card.version)
    x, _ = feature_matrix(frame, DEFAULT_SPEC)
    return ModelServer(ModelRegistry(root), "bench").model, np.ascontiguousarray(x[-WORKERS:])


def test_batch_120(benchmark, model_and_rows) -> None:
    model, rows = model_and_rows
    result = benchmark(model.predict, rows)
    assert result.shape == (WORKERS,)


def test_single_x120(benchmark, model_and_rows) -> None:
    model, rows = model_and_rows
    singles = [rows[i : i + 1] for i in range(WORKERS)]

    def one_call_per_worker() -> list[float]:
        return [float(model.predict(row)[0]) for row in singles]

    assert len(benchmark(one_call_per_worker)) == WORKERS
