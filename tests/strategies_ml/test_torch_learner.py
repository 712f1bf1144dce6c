"""The PyTorch learner for real: trained walk-forward, exported with torch.onnx, served by
onnxruntime with the network's probabilities (its shuffled-label test is with the default
learner's in ``test_walkforward.py``).

Runs when torch (and onnxscript, which torch.onnx's exporter builds the graph with) is
installed -- the optional ``[torch]`` extra -- and is skipped with that reason otherwise:
torch's Linux wheel brings about 5 GB of CUDA libraries, too big for CI's dev group.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moonlight.core.backtest.verdict import EDGE, wilson_interval
from moonlight.strategies.ml.dataset import feature_matrix
from moonlight.strategies.ml.synthetic import P_EDGE

from .conftest import PLANTED_SPEC, needs_torch

pytestmark = needs_torch


def test_the_network_exported_by_torch_onnx_scores_what_torch_scores(planted_frame) -> None:
    from moonlight.strategies.ml.learners import TorchLearner
    from moonlight.strategies.ml.serving import OnnxScorer

    x, y = feature_matrix(planted_frame.head(5000), PLANTED_SPEC)
    learner = TorchLearner(epochs=20)
    model = learner.fit(x, y)
    served = OnnxScorer(learner.to_onnx(model, x.shape[1])).predict(x)
    np.testing.assert_allclose(served, learner.predict(model, x), rtol=0, atol=1e-6)
    assert np.ptp(served) > 1e-3  # a trained network, not a constant


@pytest.mark.slow
def test_the_network_finds_the_planted_edge_out_of_sample(planted_frame, tmp_path) -> None:
    from moonlight.strategies.ml.registry import ModelRegistry
    from moonlight.strategies.ml.train import TrainConfig, train

    config = TrainConfig(
        name="planted-torch",
        candles=Path("unused"),
        features=PLANTED_SPEC.to_dict(),
        folds=4,
        learner="torch_mlp",
        registry_dir=tmp_path,
        promote=True,
    )
    result = train(config, frame=planted_frame)
    pooled = result.out_of_sample.pooled
    print(f"\ntorch_mlp walk-forward, pooled: {pooled}")
    assert result.onnx_max_abs_diff <= 1e-6
    assert pooled.ece <= 0.02
    assert pooled.verdict == EDGE and pooled.pnl_per_unit > 0
    last = result.out_of_sample.folds[-1].scores  # the network trained on the most data
    low, high = wilson_interval(last.wins, last.trades)
    assert low <= P_EDGE <= high, (last.win_rate, low, high)
    card = ModelRegistry(tmp_path).card("planted-torch", result.card.version)
    assert card.learner == "torch_mlp" and "torch" in card.libraries and result.promoted
