"""Learners: fit P(up at expiry | features), predict it, export it to ONNX.

Training-only module: it imports scikit-learn (and torch for :class:`TorchLearner`),
which the engine never loads (``moonlight.strategies.ml.serving`` runs the exported
ONNX file with onnxruntime). Install with ``pip install moonlight-strategies-ml[train]``
(``[torch]`` for the network).

Default: scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier` --
trees find interactions between indicator conditions without feature scaling, it is
fast on 10⁵ rows on one core, handles NaN natively, ships with scikit-learn (no extra
native wheel as LightGBM would need) and exports to ONNX in double precision
(:mod:`.hgb_onnx`), so the served probabilities equal the trained ones (see docs).
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

import numpy as np

from moonlight.core.strategy.api import FloatArray


class MissingTrainingStack(ImportError):
    """The training extra is not installed."""


class Learner(Protocol):
    """What training needs of a model family."""

    name: str

    def fit(self, x: FloatArray, y: FloatArray) -> Any: ...

    def predict(self, model: Any, x: FloatArray) -> FloatArray: ...

    def to_onnx(self, model: Any, width: int) -> bytes: ...

    def library_versions(self) -> dict[str, str]: ...


def _require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingTrainingStack(
            f"training needs {module}: pip install 'moonlight-strategies-ml[{extra}]'"
        ) from None


class HistGradientBoosting:
    """scikit-learn histogram gradient boosting, regularised for noisy market labels."""

    name = "hist_gradient_boosting"

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        self.seed = seed
        self.params = {
            "max_iter": 200,
            "learning_rate": 0.1,
            "max_depth": 3,
            "min_samples_leaf": 1000,
            "l2_regularization": 10.0,
            # Stop when 20 % of the *training* rows stop improving: on labels without
            # signal that is after a few trees, so the model stays near the base rate
            # and does not trade noise (the shuffled-label test).
            "early_stopping": True,
            "validation_fraction": 0.2,
            "n_iter_no_change": 10,
            **params,
        }

    def fit(self, x: FloatArray, y: FloatArray) -> Any:
        ensemble = _require("sklearn.ensemble", "train")
        model = ensemble.HistGradientBoostingClassifier(random_state=self.seed, **self.params)
        return model.fit(x, y.astype(np.int64))

    def predict(self, model: Any, x: FloatArray) -> FloatArray:
        return np.asarray(model.predict_proba(x)[:, 1], np.float64)

    def to_onnx(self, model: Any, width: int) -> bytes:
        _require("onnx", "train")
        from moonlight.strategies.ml.hgb_onnx import hgb_to_onnx

        return hgb_to_onnx(model, width)

    def library_versions(self) -> dict[str, str]:
        import onnx
        import onnxruntime
        import sklearn

        return {
            "scikit-learn": sklearn.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        }


class TorchLearner:
    """A small PyTorch network (two hidden layers), trained full-batch with Adam.

    Early-stopped like the default learner: the last ``validation_fraction`` of the
    training rows (the latest in time) are held out, the validation log loss is checked
    after every epoch and training stops ``patience`` epochs after its best, keeping the
    best weights. On labels without signal the best epoch comes early, the network stays
    near the base rate and does not trade noise (the shuffled-label test); without this
    it fitted the noise and traded it at a loss.
    """

    name = "torch_mlp"

    def __init__(
        self,
        *,
        seed: int = 0,
        hidden: int = 32,
        epochs: int = 200,
        validation_fraction: float = 0.2,
        patience: int = 10,
    ) -> None:
        self.seed = seed
        self.hidden = hidden
        self.epochs = epochs
        self.validation_fraction = validation_fraction
        self.patience = patience

    def fit(self, x: FloatArray, y: FloatArray) -> Any:
        torch = _require("torch", "torch")
        torch.manual_seed(self.seed)
        cut = x.shape[0] - int(x.shape[0] * self.validation_fraction)
        train_x, train_y = torch.from_numpy(x[:cut]), torch.from_numpy(y[:cut]).reshape(-1, 1)
        valid_x, valid_y = torch.from_numpy(x[cut:]), torch.from_numpy(y[cut:]).reshape(-1, 1)
        mean, scale = x[:cut].mean(axis=0), x[:cut].std(axis=0) + 1e-12
        net = torch.nn.Sequential(
            _standardise(torch, mean, scale),
            torch.nn.Linear(x.shape[1], self.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(self.hidden, self.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(self.hidden, 1),
            torch.nn.Sigmoid(),
        ).double()
        optimiser = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-4)
        loss = torch.nn.BCELoss()
        best, best_state, since_best = float("inf"), copy.deepcopy(net.state_dict()), 0
        for _ in range(self.epochs):
            optimiser.zero_grad()
            loss(net(train_x), train_y).backward()
            optimiser.step()
            if valid_x.shape[0] == 0:
                continue
            with torch.no_grad():
                validation = float(loss(net(valid_x), valid_y))
            if validation < best:
                best, best_state, since_best = validation, copy.deepcopy(net.state_dict()), 0
            else:
                since_best += 1
                if since_best >= self.patience:
                    break
        if valid_x.shape[0]:
            net.load_state_dict(best_state)
        return net.eval()

    def predict(self, model: Any, x: FloatArray) -> FloatArray:
        torch = _require("torch", "torch")
        with torch.no_grad():
            return np.asarray(model(torch.from_numpy(x)).numpy()[:, 0], np.float64)

    def to_onnx(self, model: Any, width: int) -> bytes:
        """The network as ONNX through ``torch.export`` (the exporter PyTorch supports
        since 2.9; the TorchScript one is deprecated), batch size dynamic, float64."""
        torch = _require("torch", "torch")
        _require("onnxscript", "torch")  # what torch.onnx's exporter builds the graph with
        program = torch.onnx.export(
            model,
            (torch.zeros((2, width), dtype=torch.float64),),
            input_names=["X"],
            output_names=["probability"],
            dynamic_shapes=({0: torch.export.Dim("rows")},),
            dynamo=True,
            verbose=False,
        )
        return bytes(program.model_proto.SerializeToString())

    def library_versions(self) -> dict[str, str]:
        import onnxruntime
        import onnxscript
        import torch

        return {
            "torch": str(torch.__version__),
            "onnxscript": onnxscript.__version__,
            "onnxruntime": onnxruntime.__version__,
        }


def _standardise(torch: Any, mean: FloatArray, scale: FloatArray) -> Any:
    """A torch layer ``(x - mean) / scale`` with the training statistics built in."""

    class Standardise(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.from_numpy(mean))
            self.register_buffer("scale", torch.from_numpy(scale))

        def forward(self, x: Any) -> Any:
            return (x - self.mean) / self.scale

    return Standardise()


LEARNERS: dict[str, type[HistGradientBoosting] | type[TorchLearner]] = {
    HistGradientBoosting.name: HistGradientBoosting,
    TorchLearner.name: TorchLearner,
}
