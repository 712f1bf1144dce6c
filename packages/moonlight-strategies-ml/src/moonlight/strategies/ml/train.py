"""``moonlight train CONFIG``: walk-forward evaluation, final fit, ONNX export, registry.

Runs as its own command (its own process), never inside the engine: retraining cannot
stall a decision. Steps:

1. the dataset -- a Parquet file from ``moonlight dataset export`` or a candle file
   turned into one (:func:`~.dataset.dataset_from_candles`);
2. walk-forward with purging and an embargo of at least one expiry
   (:mod:`.walkforward`): out-of-sample Brier, log loss, ECE and the edge verdict per
   fold and pooled;
3. the final model fitted on every usable row, exported to ONNX and checked: the ONNX
   probabilities must equal the learner's within :data:`ONNX_TOLERANCE` on every row;
4. registered (files + storage row) with its feature spec, training range, library
   versions and metrics; promoted only when asked and only if it beats the promoted one.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from moonlight.strategies.ml.dataset import (
    dataset_from_candles,
    feature_matrix,
    read_parquet,
)
from moonlight.strategies.ml.features import DEFAULT_SPEC, FeatureSpec
from moonlight.strategies.ml.learners import LEARNERS
from moonlight.strategies.ml.registry import ModelCard, ModelRegistry
from moonlight.strategies.ml.walkforward import OutOfSample, walk_forward

#: Largest allowed |ONNX - learner| probability difference on the training rows.
ONNX_TOLERANCE = 1e-6


class TrainConfig(BaseModel):
    """The training configuration (YAML), validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    dataset: Path | None = Field(default=None, description="Parquet from dataset export.")
    candles: Path | None = Field(default=None, description="Candle file (CSV or Parquet).")
    instrument: str | None = None
    timeframe: str | None = None
    features: dict[str, Any] | None = Field(default=None, description="Spec; default spec.")
    expiry_s: float = Field(default=60.0, gt=0)
    payout_pct: float = Field(default=85.0, gt=0, le=1000)
    folds: int = Field(default=5, ge=1, le=50)
    embargo_s: float | None = Field(default=None, description="Default: one expiry.")
    learner: Literal["hist_gradient_boosting", "torch_mlp"] = "hist_gradient_boosting"
    seed: int = 0
    registry_dir: Path = Path("data/models")
    storage_url: str | None = None
    promote: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> TrainConfig:
        if (self.dataset is None) == (self.candles is None):
            raise ValueError("give exactly one of 'dataset' (Parquet) or 'candles' (a file)")
        if self.embargo_s is not None and self.embargo_s < self.expiry_s:
            raise ValueError(f"embargo_s {self.embargo_s} is shorter than expiry_s {self.expiry_s}")
        return self

    def spec(self) -> FeatureSpec:
        return DEFAULT_SPEC if self.features is None else FeatureSpec.from_dict(self.features)

    def resolved(self, base: Path) -> TrainConfig:
        """Relative paths taken from ``base`` (the config file's folder)."""

        def under(path: Path | None) -> Path | None:
            return None if path is None or path.is_absolute() else base / path

        changes = {
            key: under(getattr(self, key))
            for key in ("dataset", "candles", "registry_dir")
            if under(getattr(self, key)) is not None
        }
        return self.model_copy(update=changes)


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What one training run produced."""

    card: ModelCard
    out_of_sample: OutOfSample
    onnx_max_abs_diff: float
    promoted: bool
    promotion_note: str


def load_dataset(config: TrainConfig) -> Any:
    """The configured dataset as a DataFrame."""
    spec = config.spec()
    if config.dataset is not None:
        return read_parquet(config.dataset, spec)
    from moonlight.core.data.load import load_candles

    assert config.candles is not None
    series = load_candles(config.candles, instrument=config.instrument, timeframe=config.timeframe)
    return dataset_from_candles(series, spec, expiry_s=config.expiry_s)


def train(config: TrainConfig, frame: Any | None = None) -> TrainResult:
    """Every step of the module docstring; ``frame`` overrides the configured dataset."""
    spec = config.spec()
    frame = load_dataset(config) if frame is None else frame
    x, y = feature_matrix(frame, spec)
    usable = np.all(np.isfinite(frame[spec.column_names()].to_numpy(np.float64)), axis=1)
    ts = frame["ts"].to_numpy(np.float64)[usable & np.isfinite(frame["label"].to_numpy())]
    learner = LEARNERS[config.learner](seed=config.seed)
    embargo = config.embargo_s if config.embargo_s is not None else config.expiry_s
    oos = walk_forward(
        ts,
        x,
        y,
        learner,
        folds=config.folds,
        expiry_s=config.expiry_s,
        embargo_s=embargo,
        payout_pct=config.payout_pct,
    )
    model = learner.fit(x, y)
    onnx_bytes = learner.to_onnx(model, spec.width)
    difference = _onnx_difference(onnx_bytes, learner.predict(model, x), x)
    if not difference <= ONNX_TOLERANCE:
        raise RuntimeError(
            f"the ONNX export differs from the trained model by {difference:.3g}"
            f" (> {ONNX_TOLERANCE}); not registering it"
        )
    card = ModelCard(
        name=config.name,
        version=0,
        learner=learner.name,
        feature_spec=spec.to_dict(),
        feature_fingerprint=spec.fingerprint(),
        data_from_ts=float(ts[0]),
        data_to_ts=float(ts[-1]),
        libraries={
            "python": platform.python_version(),
            "numpy": np.__version__,
            **learner.library_versions(),
        },
        metrics={
            "expiry_s": config.expiry_s,
            "embargo_s": embargo,
            "payout_pct": config.payout_pct,
            "rows": int(x.shape[0]),
            "folds": [fold.to_dict() for fold in oos.folds],
            "pooled": oos.pooled.to_dict(),
            "onnx_max_abs_diff": difference,
        },
    )
    registry = ModelRegistry(config.registry_dir, config.storage_url)
    stored = registry.register(card, onnx_bytes)
    promoted, note = False, "not promoted (promote: false)"
    if config.promote:
        promoted, note = registry.promote_if_better(stored.name, stored.version)
    return TrainResult(stored, oos, difference, promoted, note)


def _onnx_difference(onnx_bytes: bytes, expected: Any, x: Any) -> float:
    """Largest |ONNX probability - learner probability| over the rows of ``x``."""
    from moonlight.strategies.ml.serving import OnnxScorer

    return float(np.max(np.abs(OnnxScorer(onnx_bytes).predict(x) - expected)))
