"""Shared helpers for the risk tests: a clock tests move by hand, requests, stores.

Time never passes by itself here: every time-based guard reads the :class:`Clock`
fixture, and a test advances it explicitly (no sleeping).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.orders import Direction, Outcome
from moonlight.core.risk.guards.base import GuardContext, TradeResult
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.sql_state_store import SqlGuardStateStore
from moonlight.core.risk.state_store import GuardStateStore, MemoryGuardStateStore
from moonlight.core.storage import migrate
from moonlight.core.storage.engine import create_storage_engine, session_factory
from tests.storage.conftest import BACKENDS, pg_database

__all__ = ["pg_database"]  # the fixture is re-used here, not redefined

START = datetime(2024, 3, 5, 10, 0, 0, tzinfo=UTC)


class Clock:
    """A settable clock: call it for the time, ``advance`` to move it forward."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return self.now


BASE_REQUEST = DecisionRequest(
    account_id="acc1",
    instrument="EURUSD",
    direction=Direction.UP,
    p_hat=0.62,
    payout_pct=85.0,
    balance=1000.0,
    account_max_stake=100.0,
    min_stake=1.0,
    max_stake=5000.0,
)


def make_request(**changes: Any) -> DecisionRequest:
    """The base request with some fields changed."""
    return replace(BASE_REQUEST, **changes)


def result(
    outcome: Outcome,
    pnl: float,
    *,
    account_id: str = "acc1",
    instrument: str = "EURUSD",
    client_req_id: str = "r",
    balance_after: float | None = None,
) -> TradeResult:
    """A settled order for the guards."""
    return TradeResult(account_id, instrument, client_req_id, outcome, pnl, balance_after)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory_store() -> MemoryGuardStateStore:
    return MemoryGuardStateStore()


@pytest.fixture
def context_for(clock: Clock) -> Callable[..., GuardContext]:
    """Build a guard context on a given store (and timezone) with the test clock."""

    def build(store: GuardStateStore, timezone: str = "UTC") -> GuardContext:
        return GuardContext(now=clock, timezone=ZoneInfo(timezone), store=store)

    return build


class DbStores:
    """Opens the same database again and again, as a restarted engine would."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self._engines: list[Any] = []

    def open(self) -> SqlGuardStateStore:
        """A fresh engine and store on the database (migrated to head on first open)."""
        engine = create_storage_engine(self.url)
        if not self._engines:
            migrate.upgrade(engine)
        self._engines.append(engine)
        return SqlGuardStateStore(session_factory(engine))

    def sessions(self) -> sessionmaker[Session]:
        """Sessions on the most recently opened engine (to inspect the tables)."""
        return session_factory(self._engines[-1])

    def restart(self) -> SqlGuardStateStore:
        """Close every open engine (the old process is gone), then open again."""
        for engine in self._engines:
            engine.dispose()
        return self.open()

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbStores]:
    """A database for restart tests: a SQLite file always; PostgreSQL when
    MOONLIGHT_TEST_PG_URL is set (the storage suite's temporary-database fixture)."""
    if request.param == "sqlite":
        url = make_url(f"sqlite:///{(tmp_path / 'moonlight.db').as_posix()}")
    else:
        url = request.getfixturevalue("pg_database")
    stores = DbStores(url)
    yield stores
    stores.close()
