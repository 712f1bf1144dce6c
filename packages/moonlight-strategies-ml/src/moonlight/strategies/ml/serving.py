"""Serving: an exported model run by onnxruntime, without the training stack.

This module imports numpy and onnxruntime only -- never scikit-learn or torch (a test
runs the engine path in a fresh interpreter and checks ``sys.modules``).

:class:`OnnxModel` scores a batch of feature rows in one ``InferenceSession.run``:
the call for all workers due at one instant costs about what one row costs (see
``benchmarks/bench_learned.py``). :class:`ModelServer` is shared by every worker that
serves the same model name: it holds the promoted version and swaps to a newly promoted
one only when a *later* instant starts, so all workers deciding at one instant see the
same model (promotion never lands mid-instant).
"""

from __future__ import annotations

from pathlib import Path
from threading import Lock

import numpy as np

from moonlight.core.strategy.api import FloatArray
from moonlight.strategies.ml.features import FeatureSpec
from moonlight.strategies.ml.registry import ModelCard, ModelRegistry


class OnnxScorer:
    """An ONNX model file (or its bytes): float64 rows in, P(up at expiry) per row out."""

    def __init__(self, model: Path | bytes) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one core per engine; no thread-pool wake-ups
        options.inter_op_num_threads = 1
        source = model if isinstance(model, bytes) else str(model)
        self.session = onnxruntime.InferenceSession(
            source, options, providers=["CPUExecutionProvider"]
        )
        self._input = self.session.get_inputs()[0].name
        outputs = [o.name for o in self.session.get_outputs()]
        self._output = next((o for o in outputs if "prob" in o.lower()), outputs[-1])

    def predict(self, rows: FloatArray) -> FloatArray:
        """P(up) for each row of the (n × width) float64 matrix ``rows``.

        onnxruntime sums a tree ensemble's leaves in another order for a single row than
        for a batch (the last bit differs); a lone row is therefore scored as a batch of
        two copies, so a row's score never depends on how many rows came with it.
        """
        single = rows.shape[0] == 1
        feed = np.repeat(rows, 2, axis=0) if single else rows
        (result,) = self.session.run([self._output], {self._input: feed})
        result = np.asarray(result, np.float64)
        scores = result[:, 1] if result.shape[1] == 2 else result[:, 0]
        return scores[:1] if single else scores


class OnnxModel(OnnxScorer):
    """A registered model: the scorer plus its card and feature spec (checked)."""

    def __init__(self, path: Path, card: ModelCard) -> None:
        super().__init__(path)
        self.card = card
        self.spec = FeatureSpec.from_dict(card.feature_spec)
        if self.spec.fingerprint() != card.feature_fingerprint:
            raise ValueError(
                f"{path}: card fingerprint {card.feature_fingerprint} does not match its"
                f" feature spec ({self.spec.fingerprint()})"
            )


class ModelServer:
    """The promoted version of one model name, swapped only between instants."""

    def __init__(self, registry: ModelRegistry, name: str) -> None:
        self.registry = registry
        self.name = name
        self._lock = Lock()
        self._instant = -np.inf
        self.version = -1
        self.model = self._load()

    def _load(self) -> OnnxModel:
        path, card = self.registry.model_file(self.name)
        self.version = card.version
        return OnnxModel(path, card)

    def at_instant(self, ts: float) -> OnnxModel:
        """The model for decisions at instant ``ts`` (one model for the whole instant).

        The first call for an instant later than any seen checks ``promoted.json``; calls
        for the same or an earlier instant never swap.
        """
        if ts <= self._instant:
            return self.model
        with self._lock:
            if ts > self._instant:
                self._instant = ts
                promoted = self.registry.promoted(self.name)
                if promoted is not None and promoted != self.version:
                    self.model = self._load()
        return self.model


_SERVERS: dict[tuple[str, str], ModelServer] = {}
_SERVERS_LOCK = Lock()


def shared_server(registry_dir: Path, name: str) -> ModelServer:
    """The one :class:`ModelServer` of ``name`` in ``registry_dir`` in this process."""
    key = (str(Path(registry_dir).resolve()), name)
    with _SERVERS_LOCK:
        server = _SERVERS.get(key)
        if server is None:
            server = _SERVERS[key] = ModelServer(ModelRegistry(Path(registry_dir)), name)
        return server
