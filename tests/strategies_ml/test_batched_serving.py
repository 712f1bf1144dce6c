"""Batched serving: every worker of a model due at one instant is scored in ONE
onnxruntime run, with the same probabilities and signals as one call per worker."""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import pytest

from moonlight.core.strategy.api import Bar, Strategy, price_arrays
from moonlight.core.strategy.batch import evaluate_grouped
from moonlight.core.strategy.indicators import IndicatorFeed, registry_indicator_source
from moonlight.strategies.basic.ema_rsi import EmaRsi
from moonlight.strategies.ml.serving import OnnxModel
from moonlight.strategies.ml.strategy import Learned, LearnedParams
from moonlight.strategies.ml.synthetic import planted_edge_candles

pytestmark = pytest.mark.slow

WORKERS = 18
BARS = 70


def _bars(seed: int) -> list[Bar]:
    series, _ = planted_edge_candles(BARS, seed=seed)
    prices = price_arrays(series.columns())
    return [
        Bar(
            *(float(prices[c][i]) for c in ("open", "high", "low", "close", "volume")),
            start_ts=float(prices["start_ts"][i]),
        )
        for i in range(BARS)
    ]


def _record_calls(model: OnnxModel, monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """Every ``predict`` result of ``model``, in call order."""
    calls: list[np.ndarray] = []
    predict = model.predict

    def recording(rows: np.ndarray) -> np.ndarray:
        calls.append(result := predict(rows))
        return result

    monkeypatch.setattr(model, "predict", recording)
    return calls


def test_one_run_per_model_per_instant_equals_one_call_per_worker(
    trained, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, registry = trained
    copy = shutil.copytree(registry, tmp_path / "copy")  # a second model server: a 2nd group

    def worker(w: int) -> Strategy[Any]:
        if w % 6 == 5:
            return EmaRsi()  # a strategy that does not batch, in the same instant
        params = LearnedParams(
            model="planted",
            registry_dir=registry if w % 2 else copy,
            min_edge=(0.0, 0.01, 0.04)[w % 3],
            full_edge=(0.1, 0.05)[w % 2],
        )
        return Learned(params)

    single = [worker(w) for w in range(WORKERS)]
    batched = [worker(w) for w in range(WORKERS)]
    models = {s.server.model for s in single if isinstance(s, Learned)}
    assert len(models) == 2
    calls = {model: _record_calls(model, monkeypatch) for model in models}
    feeds = [IndicatorFeed(s.needs, registry_indicator_source()) for s in single]
    walks = [_bars(100 + w) for w in range(WORKERS)]
    scored = 0
    for t in range(BARS):
        values = [dict(feed.update(walk[t])) for feed, walk in zip(feeds, walks, strict=True)]
        for recorded in calls.values():
            recorded.clear()
        expected = [s.evaluate(walks[w][t], values[w]) for w, s in enumerate(single)]
        one_by_one = {m: np.concatenate(c) if c else np.empty(0) for m, c in calls.items()}
        assert all(c.shape == (1,) for recorded in calls.values() for c in recorded)
        for recorded in calls.values():
            recorded.clear()
        got = evaluate_grouped([(s, walks[w][t], values[w]) for w, s in enumerate(batched)])
        assert got == expected, t
        for model, recorded in calls.items():
            assert len(recorded) == (1 if one_by_one[model].size else 0), t  # one run
            if recorded:
                np.testing.assert_allclose(recorded[0], one_by_one[model], rtol=0, atol=1e-9)
                scored += recorded[0].size
    learned = [s for s in batched if isinstance(s, Learned)]
    assert scored == sum(BARS - s.warmup_bars for s in learned)  # every complete row
    assert any(s.direction.value != "none" for s in got)
