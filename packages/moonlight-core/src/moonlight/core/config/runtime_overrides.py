"""Runtime overrides: the top precedence layer, set through the API and kept in storage.

An override is a partial configuration tree (``{"risk": {"threshold": 0.6}}``). It is
stored under :data:`RUNTIME_OVERRIDES_KEY` in ``engine_state`` (with an audit record)
and applies from the next start: the start-up reads it back before the configuration
is loaded for good (:func:`stored_overrides`).

:class:`OverrideStore` is the one writer. Before anything is stored, the override tree
is validated as **the whole configuration it would produce** — the base configuration
with the overrides as the top layer, through :func:`~moonlight.core.config.load_config`
and the plugin registry — so unknown keys, bad values, unknown plugin names, semantic
rules and non-finite numbers fail exactly as ``moonlight config check`` would, every
problem listed, and nothing is stored. Three subtrees cannot be overridden at run time:
``data_dir`` and ``storage`` (the overrides live in that storage) and ``server``
(network exposure changes only in the config file, never through the API it exposes).

The store works with the engine stopped too: ``moonlight overrides show|clear`` uses it
on the storage named by the config file, which is how an override that makes the next
start fail is removed without a running API. Reading never creates a database.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.config.errors import ConfigError, ConfigIssue
from moonlight.core.config.loader import deep_merge, find_secret_keys, load_config
from moonlight.core.config.models import MoonlightConfig
from moonlight.core.plugins.registry import Registry
from moonlight.core.storage.engine import engine_from_config, session_factory, sqlite_database_path
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.models import EngineState
from moonlight.core.storage.repository import record_audit, set_engine_state

RUNTIME_OVERRIDES_KEY = "runtime:overrides"
AUDIT_ACTION = "runtime_overrides.set"
FROZEN_AT_RUN_TIME = ("data_dir", "storage", "server")
SOURCE = "runtime overrides"
CLEAR_HINT = "moonlight overrides clear {config}"

log = logging.getLogger("moonlight.config")


@dataclass(frozen=True, slots=True)
class StoredOverrides:
    """The persisted override tree and who last changed it (empty: none set)."""

    overrides: dict[str, Any]
    updated_at: datetime | None
    updated_by: str | None

    def describe(self) -> str:
        """``risk.threshold, server.port (set by ann at 2026-01-05 08:00 UTC)``."""
        keys = ", ".join(leaf_paths(self.overrides)) or "(none)"
        when = f" at {self.updated_at:%Y-%m-%d %H:%M} UTC" if self.updated_at else ""
        who = f" (set by {self.updated_by}{when})" if self.updated_by else ""
        return keys + who


NONE_STORED = StoredOverrides({}, None, None)


class OverrideStore:
    """Reads, validates and writes the runtime overrides in one storage."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        base: MoonlightConfig,
        registry: Registry | None,
    ) -> None:
        self._sessions = sessions
        self._base = base.model_dump(mode="json")
        self._registry = registry

    def current(self) -> StoredOverrides:
        """The persisted overrides (empty when none were ever set)."""
        with translate_storage_errors(), self._sessions() as session:
            row = session.get(EngineState, RUNTIME_OVERRIDES_KEY, populate_existing=True)
            return _parse(row)

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
                None, overrides=deep_merge(self._base, overrides), registry=self._registry
            )
        except ConfigError as error:
            raise ConfigError(issues + error.issues) from None
        if issues:
            raise ConfigError(issues)
        return config

    def replace(self, overrides: Mapping[str, Any], *, operator: str) -> StoredOverrides:
        """Validate, then persist and audit in one transaction; ``{}`` clears them."""
        if overrides:
            self.validate(overrides)
        previous = self.current().overrides
        tree = dict(overrides)
        with translate_storage_errors(), self._sessions() as session, session.begin():
            set_engine_state(
                session, RUNTIME_OVERRIDES_KEY, {"overrides": tree}, updated_by=operator
            )
            record_audit(
                session,
                actor=operator,
                action=AUDIT_ACTION,
                detail={"overrides": tree, "previous": previous},
            )
        return self.current()


def stored_overrides(config: MoonlightConfig) -> StoredOverrides | None:
    """The overrides stored in ``config``'s storage, or None (no database, none stored).

    An unreachable database also gives None here: start-up reports it properly when it
    prepares storage, and refuses to trade.
    """
    try:
        with existing_storage(config) as sessions:
            if sessions is None:
                return None
            with sessions() as session:
                found = _parse(session.get(EngineState, RUNTIME_OVERRIDES_KEY))
    except SQLAlchemyError as error:
        log.warning("stored runtime overrides not read: %s", error)
        return None
    return found if found.overrides else None


@contextlib.contextmanager
def existing_storage(config: MoonlightConfig) -> Iterator[sessionmaker[Session] | None]:
    """Sessions on ``config``'s storage if its database and tables exist, else None.

    Never creates a database (a mistyped config must not leave an empty one behind).
    """
    engine = engine_from_config(config)
    try:
        database = sqlite_database_path(engine.url)
        missing = database is not None and not database.exists()
        if missing or not inspect(engine).has_table(EngineState.__tablename__):
            yield None
        else:
            yield session_factory(engine)
    finally:
        engine.dispose()


@contextlib.contextmanager
def offline_store(
    config: MoonlightConfig, registry: Registry | None
) -> Iterator[OverrideStore | None]:
    """An :class:`OverrideStore` on ``config``'s storage while the engine is stopped
    (None when the storage holds no database: nothing was ever stored)."""
    with existing_storage(config) as sessions:
        yield None if sessions is None else OverrideStore(sessions, config, registry)


def _parse(row: EngineState | None) -> StoredOverrides:
    if row is None or not isinstance(row.value, dict):
        return NONE_STORED
    tree = row.value.get("overrides")
    if not isinstance(tree, dict):
        return NONE_STORED
    return StoredOverrides(dict(tree), row.updated_at, row.updated_by)


def leaf_paths(tree: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the leaves of an override tree, sorted."""
    paths = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            paths.extend(leaf_paths(value, path))
        else:
            paths.append(path)
    return sorted(paths)


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
