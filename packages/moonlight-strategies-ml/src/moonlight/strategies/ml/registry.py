"""The model registry: model files beside the data, one storage row per version.

Layout under the registry directory (``<data_dir>/models`` by default)::

    <name>/v<version>/model.onnx    the exported model (what the engine serves)
    <name>/v<version>/card.json     feature spec, training range, libraries, metrics
    <name>/promoted.json            {"version": N} -- the version being served

The storage table ``models`` (migration ``0003``) mirrors every card, so the operator's
database says which models exist and which one is promoted. Files are written to a
temporary name and renamed, so a serving process never reads half a file.

**Promotion** (:func:`promote_if_better`) only happens when the candidate's pooled
out-of-sample log loss beats the promoted model's and its verdict is not a negative edge;
it changes ``promoted.json`` only -- the serving side swaps models between instants,
never in the middle of one (:mod:`.serving`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MODEL_FILE = "model.onnx"
CARD_FILE = "card.json"
PROMOTED_FILE = "promoted.json"


class RegistryError(LookupError):
    """A model or version the registry does not have (the message names it)."""


@dataclass(frozen=True, slots=True)
class ModelCard:
    """What is known about one model version (stored as ``card.json`` and a row)."""

    name: str
    version: int
    learner: str
    feature_spec: dict[str, Any]
    feature_fingerprint: str
    data_from_ts: float
    data_to_ts: float
    libraries: dict[str, str]
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "learner": self.learner,
            "feature_spec": self.feature_spec,
            "feature_fingerprint": self.feature_fingerprint,
            "data_from_ts": self.data_from_ts,
            "data_to_ts": self.data_to_ts,
            "libraries": self.libraries,
            "metrics": self.metrics,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        return cls(**{key: data[key] for key in cls.__slots__})


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class ModelRegistry:
    """Model versions on disk (and in storage when a URL is given); see the module doc."""

    def __init__(self, root: Path, storage_url: str | None = None) -> None:
        self.root = Path(root)
        self.storage_url = storage_url

    def versions(self, name: str) -> list[int]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        found = [p.name[1:] for p in folder.iterdir() if p.name.startswith("v")]
        return sorted(
            int(v) for v in found if v.isdigit() and (folder / f"v{v}" / CARD_FILE).is_file()
        )

    def path(self, name: str, version: int) -> Path:
        return self.root / name / f"v{version}"

    def card(self, name: str, version: int) -> ModelCard:
        file = self.path(name, version) / CARD_FILE
        if not file.is_file():
            raise RegistryError(f"model {name!r} has no version {version} in {self.root}")
        return ModelCard.from_dict(json.loads(file.read_text(encoding="utf-8")))

    def register(self, card: ModelCard, onnx_bytes: bytes) -> ModelCard:
        """Store a new version (numbered after the highest one) and return its card."""
        version = max(self.versions(card.name), default=0) + 1
        stored = ModelCard(**{**card.to_dict(), "version": version})
        folder = self.path(card.name, version)
        folder.mkdir(parents=True, exist_ok=False)
        _write_atomic(folder / MODEL_FILE, onnx_bytes)
        _write_atomic(folder / CARD_FILE, json.dumps(stored.to_dict(), indent=2).encode())
        try:
            self._store_row(stored, folder)
        except Exception:  # no version on disk that storage does not know
            shutil.rmtree(folder)
            raise
        return stored

    def promoted(self, name: str) -> int | None:
        file = self.root / name / PROMOTED_FILE
        if not file.is_file():
            return None
        return int(json.loads(file.read_text(encoding="utf-8"))["version"])

    def promote(self, name: str, version: int) -> None:
        """Serve ``version`` from the next instant on (no check; see promote_if_better)."""
        self.card(name, version)  # must exist
        _write_atomic(self.root / name / PROMOTED_FILE, json.dumps({"version": version}).encode())
        self._mark_promoted(name, version)

    def promote_if_better(self, name: str, version: int) -> tuple[bool, str]:
        """Promote ``version`` if it beats the promoted one out of sample; (done, why)."""
        # The verdict module brings the backtest's trade log and SQLAlchemy: imported
        # here, not with the strategy, so describing the plugin stays cheap.
        from moonlight.core.backtest.verdict import NEGATIVE

        candidate = self.card(name, version).metrics["pooled"]
        if candidate["verdict"] == NEGATIVE:
            return False, "candidate has a negative edge out of sample"
        current_version = self.promoted(name)
        if current_version is not None:
            current = self.card(name, current_version).metrics["pooled"]
            if not candidate["log_loss"] < current["log_loss"]:
                return False, (
                    f"out-of-sample log loss {candidate['log_loss']:.5f} does not beat"
                    f" v{current_version}'s {current['log_loss']:.5f}"
                )
        self.promote(name, version)
        return True, f"v{version} promoted"

    def model_file(self, name: str, version: int | None = None) -> tuple[Path, ModelCard]:
        """The ONNX file and card of ``version`` (default: the promoted one)."""
        if version is None:
            version = self.promoted(name)
            if version is None:
                raise RegistryError(
                    f"model {name!r} has no promoted version in {self.root}; train one"
                    " (moonlight train CONFIG) and promote it"
                )
        return self.path(name, version) / MODEL_FILE, self.card(name, version)

    # -- storage mirror ----------------------------------------------------------------

    def _store_row(self, card: ModelCard, folder: Path) -> None:
        if self.storage_url is None:
            return
        from moonlight.core.storage import models

        def stamp(ts: float) -> datetime:
            return datetime.fromtimestamp(ts, UTC)

        with self._session() as session:
            session.add(
                models.LearnedModel(
                    name=card.name,
                    version=card.version,
                    learner=card.learner,
                    feature_spec=card.feature_spec,
                    feature_spec_version=int(card.feature_spec["version"]),
                    feature_fingerprint=card.feature_fingerprint,
                    data_from=stamp(card.data_from_ts),
                    data_to=stamp(card.data_to_ts),
                    libraries=card.libraries,
                    metrics=card.metrics,
                    path=folder.as_posix(),
                )
            )
            session.commit()

    def _mark_promoted(self, name: str, version: int) -> None:
        if self.storage_url is None:
            return
        from sqlalchemy import update

        from moonlight.core.storage import models

        table = models.LearnedModel
        with self._session() as session:
            session.execute(update(table).where(table.name == name).values(promoted_at=None))
            session.execute(
                update(table)
                .where(table.name == name, table.version == version)
                .values(promoted_at=datetime.now(UTC))
            )
            session.commit()

    def _session(self) -> Any:
        from moonlight.core.storage.engine import create_storage_engine, session_factory
        from moonlight.core.storage.migrate import upgrade

        assert self.storage_url is not None
        engine = create_storage_engine(self.storage_url)
        upgrade(engine)
        return _Closing(session_factory(engine)(), engine)


class _Closing:
    """A session that disposes its engine when the ``with`` block ends."""

    def __init__(self, session: Any, engine: Any) -> None:
        self.session, self.engine = session, engine

    def __enter__(self) -> Any:
        return self.session

    def __exit__(self, *exc: object) -> None:
        self.session.close()
        self.engine.dispose()
