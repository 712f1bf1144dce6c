"""Registry: versions, promotion only when better, swaps only at a later instant; the
engine path never imports the training stack."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from moonlight.strategies.ml.registry import ModelRegistry, RegistryError
from moonlight.strategies.ml.serving import ModelServer

pytestmark = pytest.mark.slow


def _copy_version(registry: ModelRegistry, name: str, version: int, log_loss: float) -> int:
    card = registry.card(name, version)
    metrics = {**card.metrics, "pooled": {**card.metrics["pooled"], "log_loss": log_loss}}
    onnx = (registry.path(name, version) / "model.onnx").read_bytes()
    from dataclasses import replace

    return registry.register(replace(card, metrics=metrics), onnx).version


def test_promotion_needs_a_better_out_of_sample_log_loss(trained) -> None:
    _, root = trained
    registry = ModelRegistry(root)
    current = registry.promoted("planted")
    assert current is not None
    loss = registry.card("planted", current).metrics["pooled"]["log_loss"]
    worse = _copy_version(registry, "planted", current, loss + 0.01)
    done, why = registry.promote_if_better("planted", worse)
    assert not done and "does not beat" in why and registry.promoted("planted") == current
    better = _copy_version(registry, "planted", current, loss - 0.01)
    assert registry.promote_if_better("planted", better)[0]
    server = ModelServer(registry, "planted")
    assert server.version == better
    registry.promote("planted", current)
    assert server.at_instant(1000.0).card.version == current  # a later instant swaps
    registry.promote("planted", better)
    assert server.at_instant(1000.0).card.version == current  # same instant: never
    assert server.at_instant(999.0).card.version == current  # an earlier one: never
    assert server.at_instant(1060.0).card.version == better


def test_an_unknown_model_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(RegistryError, match="no promoted version"):
        ModelRegistry(tmp_path).model_file("nothing")


def test_batched_scores_equal_row_by_row_scores(trained) -> None:
    _, root = trained
    model = ModelServer(ModelRegistry(root), "planted").model
    rows = np.random.default_rng(0).uniform([0, 0, -300], [100, 100, 300], (120, 3))
    batch = model.predict(rows)
    single = np.array([model.predict(rows[i : i + 1])[0] for i in range(120)])
    np.testing.assert_array_equal(batch, single)


def test_the_engine_path_never_imports_scikit_learn_or_torch(trained) -> None:
    _, root = trained
    script = textwrap.dedent(
        f"""
        import json, sys
        from moonlight.core.plugins import build_plugin_host
        from moonlight.core.plugins.registry import ComponentKind
        host = build_plugin_host()
        spec = host.registry.get(ComponentKind.STRATEGY, "learned")
        strategy = spec.factory(spec.config_model(model="planted", registry_dir={str(root)!r}))
        close = [1.0 + i * 1e-4 for i in range(80)]
        strategy.evaluate_history({{"open": close, "high": close, "low": close, "close": close}})
        print(json.dumps([m for m in ("sklearn", "torch") if m in sys.modules]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_every_version_and_the_promotion_are_mirrored_in_storage(trained, tmp_path) -> None:
    import os
    import shutil

    from sqlalchemy import select

    from moonlight.core.storage import models
    from moonlight.core.storage.engine import create_storage_engine, session_factory

    _, root = trained
    copy = tmp_path / "registry"
    shutil.copytree(root, copy)
    url = os.environ.get("MOONLIGHT_TEST_PG_URL") or f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    from sqlalchemy import delete

    from moonlight.core.storage.migrate import upgrade

    engine = create_storage_engine(url)
    upgrade(engine)
    with engine.begin() as connection:  # a reused database keeps earlier runs' rows
        connection.execute(delete(models.LearnedModel).where(models.LearnedModel.name == "planted"))
    engine.dispose()
    registry = ModelRegistry(copy, url)
    promoted = registry.promoted("planted")
    assert promoted is not None
    loss = registry.card("planted", promoted).metrics["pooled"]["log_loss"]
    version = _copy_version(registry, "planted", promoted, loss - 0.5)
    assert registry.promote_if_better("planted", version)[0]
    engine = create_storage_engine(url)
    try:
        with session_factory(engine)() as session:
            table = models.LearnedModel
            rows = session.scalars(select(table).where(table.version == version)).all()
            assert len(rows) >= 1
            row = rows[-1]
            assert row.promoted_at is not None and row.feature_spec_version == 1
            assert row.metrics["pooled"]["log_loss"] == loss - 0.5
            assert "scikit-learn" in row.libraries and row.data_from < row.data_to
    finally:
        engine.dispose()


def test_a_version_storage_refuses_leaves_no_files_behind(trained, tmp_path) -> None:
    _, root = trained
    source = ModelRegistry(root)
    version = source.promoted("planted")
    assert version is not None
    card = source.card("planted", version)
    onnx = (source.path("planted", version) / "model.onnx").read_bytes()
    broken = ModelRegistry(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(Exception, match=r"connect|refused"):
        broken.register(card, onnx)
    assert broken.versions("planted") == [] and not (tmp_path / "planted" / "v1").exists()
