"""Runtime overrides: validated exactly like the configuration, persisted and audited.

An override is a partial configuration tree (``{"risk": {"threshold": 0.6}}``). It is
validated by :func:`moonlight.core.config.load_config` itself — the running
configuration with the overrides as its top precedence layer, and the plugin registry,
so unknown keys, bad values, unknown plugin names and semantic rules fail exactly as
``moonlight config check`` would, with every problem listed. Secret-looking keys are
refused as in a YAML file.

Three subtrees cannot be overridden at run time: ``data_dir`` and ``storage`` (the
overrides live in that storage) and ``server`` (network exposure changes only in the
config file, never through the API it exposes).

A valid change is written in one transaction to ``engine_state`` under
:data:`OVERRIDES_KEY` and to ``audit_log`` (who, the new and the previous tree), and
announced as a ``config_change`` alarm. The engine's components are built from the
configuration at start, so overrides take effect at the next start, where they are the
top precedence layer (the start-up reads :data:`OVERRIDES_KEY`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from moonlight.core.config import ConfigError, MoonlightConfig, load_config
from moonlight.core.config.errors import ConfigIssue
from moonlight.core.config.loader import deep_merge, find_secret_keys
from moonlight.core.config.runtime_overrides import RUNTIME_OVERRIDES_KEY
from moonlight.core.runtime.engine import Engine
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.models import EngineState
from moonlight.core.storage.repository import record_audit, set_engine_state
from moonlight.core.telemetry.alarms import AlarmCode

OVERRIDES_KEY = RUNTIME_OVERRIDES_KEY
AUDIT_ACTION = "runtime_overrides.set"
FROZEN_AT_RUN_TIME = ("data_dir", "storage", "server")
SOURCE = "runtime overrides"


@dataclass(frozen=True, slots=True)
class StoredOverrides:
    """The persisted override tree and who last changed it."""

    overrides: dict[str, Any]
    updated_at: datetime | None
    updated_by: str | None


class OverrideStore:
    """Reads, validates and writes the runtime overrides of one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._base = engine.config.model_dump(mode="json")

    def current(self) -> StoredOverrides:
        """The persisted overrides (empty when none were ever set)."""
        with self._engine.sessions() as session:
            row = session.scalars(
                select(EngineState).where(EngineState.key == OVERRIDES_KEY)
            ).first()
            if row is None or not isinstance(row.value, dict):
                return StoredOverrides({}, None, None)
            tree = row.value.get("overrides", {})
            return StoredOverrides(dict(tree), row.updated_at, row.updated_by)

    def validate(self, overrides: Mapping[str, Any]) -> MoonlightConfig:
        """The configuration these overrides would give; ConfigError lists every problem."""
        issues = find_secret_keys(overrides, source=SOURCE) + _unstorable_text(overrides)
        issues += [
            ConfigIssue(key, "cannot be overridden at run time; change the config file", SOURCE)
            for key in FROZEN_AT_RUN_TIME
            if key in overrides
        ]
        try:
            config = load_config(
                None,
                overrides=deep_merge(self._base, overrides),
                registry=self._engine.host.registry,
            )
        except ConfigError as error:
            raise ConfigError(issues + error.issues) from None
        if issues:
            raise ConfigError(issues)
        return config

    def replace(self, overrides: Mapping[str, Any], *, operator: str) -> StoredOverrides:
        """Validate, then persist and audit in one transaction (no alarm: see announce)."""
        self.validate(overrides)
        previous = self.current().overrides
        tree = dict(overrides)
        with translate_storage_errors(), self._engine.sessions() as session, session.begin():
            set_engine_state(session, OVERRIDES_KEY, {"overrides": tree}, updated_by=operator)
            record_audit(
                session,
                actor=operator,
                action=AUDIT_ACTION,
                detail={"overrides": tree, "previous": previous},
            )
        return self.current()

    def announce(self, overrides: Mapping[str, Any], *, operator: str) -> None:
        """Raise the ``config_change`` alarm (on the engine's loop, like every alarm)."""
        keys = ", ".join(sorted(_leaf_paths(overrides))) or "(cleared)"
        self._engine.alarms.raise_catalogued(
            AlarmCode.CONFIG_CHANGE,
            f"runtime overrides set by {operator} (apply at next start): {keys}",
        )


def _unstorable_text(tree: Any, path: str = "") -> list[ConfigIssue]:
    """Keys or strings with NUL/control characters or lone surrogates (no backend stores
    them all, and no configuration value needs them)."""
    found: list[ConfigIssue] = []
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            where = f"{path}.{key}" if path else str(key)
            if _bad_text(str(key)):
                found.append(ConfigIssue(where, "key contains control characters", SOURCE))
            found.extend(_unstorable_text(value, where))
    elif isinstance(tree, list):
        for index, item in enumerate(tree):
            found.extend(_unstorable_text(item, f"{path}[{index}]"))
    elif isinstance(tree, str) and _bad_text(tree):
        found.append(ConfigIssue(path, "text contains control characters", SOURCE))
    return found


def _bad_text(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in text)


def _leaf_paths(tree: Mapping[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            paths.extend(_leaf_paths(value, path))
        else:
            paths.append(path)
    return paths
