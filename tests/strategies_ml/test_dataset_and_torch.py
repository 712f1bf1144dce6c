"""Datasets: Parquet round trip with the spec, clear errors; the PyTorch learner."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from moonlight.strategies.ml.dataset import (
    DatasetError,
    dataset_from_storage,
    read_parquet,
    write_parquet,
)
from moonlight.strategies.ml.features import DEFAULT_SPEC

from .conftest import PLANTED_SPEC


def test_parquet_round_trip_keeps_rows_and_spec(planted_frame, tmp_path) -> None:
    path = write_parquet(planted_frame.head(500), tmp_path / "d.parquet")
    back = read_parquet(path, PLANTED_SPEC)
    assert back.attrs["feature_spec"] == PLANTED_SPEC.to_dict()
    np.testing.assert_array_equal(
        back[PLANTED_SPEC.column_names()].to_numpy(),
        planted_frame.head(500)[PLANTED_SPEC.column_names()].to_numpy(),
    )
    with pytest.raises(DatasetError, match="built with feature spec planted"):
        read_parquet(path, DEFAULT_SPEC)


def test_labels_are_the_settlement_rule_outcome_of_an_up_contract(planted_frame) -> None:
    closes = planted_frame["close"].to_numpy()
    labels = planted_frame["label"].to_numpy()
    expected = (closes[1:] > closes[:-1]).astype(float)  # one-bar expiry, no gaps
    np.testing.assert_array_equal(labels[:-1], expected)
    assert np.isnan(labels[-1])  # the history ends before its expiry is priced


def test_storage_without_a_decisions_table_is_a_clear_error(tmp_path) -> None:
    url = f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    with pytest.raises(DatasetError, match="no 'decisions' table"):
        dataset_from_storage(url, DEFAULT_SPEC)


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="torch not installed (the optional [torch] extra; too big for CI's dev group)",
)
def test_torch_learner_trains_and_exports_equal_probabilities(planted_frame) -> None:
    from moonlight.strategies.ml.dataset import feature_matrix
    from moonlight.strategies.ml.learners import TorchLearner
    from moonlight.strategies.ml.serving import OnnxScorer

    x, y = feature_matrix(planted_frame.head(5000), PLANTED_SPEC)
    learner = TorchLearner(epochs=20)
    model = learner.fit(x, y)
    served = OnnxScorer(learner.to_onnx(model, x.shape[1])).predict(x)
    np.testing.assert_allclose(served, learner.predict(model, x), atol=1e-6)
