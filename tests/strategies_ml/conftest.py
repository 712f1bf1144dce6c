"""Shared fixtures: planted-edge candles and one model trained on them (module cost once)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from moonlight.strategies.ml.features import FeatureDef, FeatureSpec

#: The planted rule reads RSI(7) and RSI(28); CCI is a distractor the model must ignore.
PLANTED_SPEC = FeatureSpec(
    name="planted",
    version=1,
    features=(
        FeatureDef("rsi", {"timeperiod": 7}),
        FeatureDef("rsi", {"timeperiod": 28}),
        FeatureDef("cci", {"timeperiod": 20}),
    ),
)
PLANTED_BARS = 60_000

#: The PyTorch learner's tests run when the optional ``[torch]`` extra is installed.
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("onnxscript") is None,
    reason="torch not installed (the optional [torch] extra; too big for CI's dev group)",
)


@pytest.fixture(scope="session")
def planted() -> tuple:
    from moonlight.strategies.ml.synthetic import planted_edge_candles

    return planted_edge_candles(PLANTED_BARS, seed=1)


@pytest.fixture(scope="session")
def planted_frame(planted: tuple):
    from moonlight.strategies.ml.dataset import dataset_from_candles

    series, _ = planted
    return dataset_from_candles(series, PLANTED_SPEC, expiry_s=60.0)


@pytest.fixture(scope="session")
def trained(planted_frame, tmp_path_factory: pytest.TempPathFactory):
    """(result, registry dir): the planted model, trained walk-forward and promoted."""
    from moonlight.strategies.ml.train import TrainConfig, train

    registry = Path(tmp_path_factory.mktemp("registry"))
    config = TrainConfig(
        name="planted",
        candles=Path("unused"),
        features=PLANTED_SPEC.to_dict(),
        folds=4,
        registry_dir=registry,
        promote=True,
    )
    return train(config, frame=planted_frame), registry
