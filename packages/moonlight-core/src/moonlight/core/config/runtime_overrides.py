"""Runtime overrides: the top precedence layer, set through the API and kept in storage.

The server validates an override tree exactly like a configuration, stores it under
:data:`RUNTIME_OVERRIDES_KEY` in ``engine_state`` (with an audit record) and it applies
from the next start: :func:`stored_overrides` reads it back before the configuration is
loaded for good. Reading never creates a database.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.storage.engine import engine_from_config, sqlite_database_path
from moonlight.core.storage.repository import get_engine_state

RUNTIME_OVERRIDES_KEY = "runtime:overrides"

log = logging.getLogger("moonlight.config")


def stored_overrides(config: MoonlightConfig) -> dict[str, Any] | None:
    """The override tree stored by the API, or None (no database yet, none stored).

    An unreachable database also gives None here: start-up reports it properly when it
    prepares storage, and refuses to trade.
    """
    try:
        return _read(config)
    except SQLAlchemyError as error:
        log.warning("stored runtime overrides not read: %s", error)
        return None


def _read(config: MoonlightConfig) -> dict[str, Any] | None:
    engine = engine_from_config(config)
    try:
        database = sqlite_database_path(engine.url)
        if database is not None and not database.exists():
            return None
        if not inspect(engine).has_table("engine_state"):
            return None
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            value = get_engine_state(session, RUNTIME_OVERRIDES_KEY)
    finally:
        engine.dispose()
    if not isinstance(value, dict) or not isinstance(value.get("overrides"), dict):
        return None
    tree: dict[str, Any] = value["overrides"]
    return tree or None
