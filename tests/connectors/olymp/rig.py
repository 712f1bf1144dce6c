"""The real executor, on a temp SQLite journal, driving the Olymp connector against the fake.

:meth:`Rig.assert_agreement` is the scenarios' common verdict: storage and the fake
broker's own book agree — every settled order names a distinct broker deal with the
deal's own outcome and profit, every deal at the broker is recorded by exactly one
order, and no failed order has a deal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from moonlight.connectors.olymp import OlympConnector
from moonlight.core.execution.executor import Executor, ExecutorConfig
from moonlight.core.execution.journal import OrderJournal
from moonlight.core.orders import OrderState, Outcome
from moonlight.core.runtime.clock import WallClock
from moonlight.core.storage.models import Order, Result
from tests.connectors.olymp.fake_server import FakeOlympServer
from tests.connectors.olymp.support import olymp_connector
from tests.execution.support import fast_config, migrated_sqlite

OUTCOMES = {"win": Outcome.WIN, "loose": Outcome.LOSE, "standoff": Outcome.PUSH}


def wall_config(**overrides: Any) -> ExecutorConfig:
    """Executor timings for contracts of a second or two on the wall clock."""
    values: dict[str, Any] = {
        "send_deadline_s": 20.0,
        "ack_grace_s": 4.0,
        "lookup_interval_s": 0.3,
        "first_poll_delay_s": 0.5,
        "poll_interval_s": 0.5,
        "settle_grace_s": 15.0,
        "backoff_base_s": 0.1,
        "backoff_cap_s": 1.0,
    }
    values.update(overrides)
    return fast_config(**values)


@dataclass(frozen=True)
class Stored:
    state: OrderState
    broker_order_id: str | None
    outcome: Outcome | None
    pnl: float | None


@dataclass
class Rig:
    server: FakeOlympServer
    connector: OlympConnector
    engine: Engine
    journal: OrderJournal
    executor: Executor

    def stored(self) -> dict[str, Stored]:
        with Session(self.engine) as session:
            results = {
                order_id: result
                for order_id, result in session.execute(select(Order.id, Result).join(Result.order))
            }
            return {
                o.client_req_id: Stored(
                    o.state,
                    o.broker_order_id,
                    results[o.id].outcome if o.id in results else None,
                    results[o.id].pnl if o.id in results else None,
                )
                for o in session.scalars(select(Order))
            }

    def assert_agreement(self) -> dict[str, Stored]:
        stored = self.stored()
        deals = {str(d.id): d for d in self.server.deals.values()}
        settled = {cid: s for cid, s in stored.items() if s.state is OrderState.SETTLED}
        broker_ids = [s.broker_order_id for s in settled.values()]
        assert len(broker_ids) == len(set(broker_ids)), "two orders recorded on one deal"
        assert set(broker_ids) == set(deals), f"storage and the broker disagree: {stored}"
        for cid, row in settled.items():
            deal = deals[row.broker_order_id or ""]
            assert deal.closed, f"{cid}: settled in storage, open at the broker"
            assert row.outcome is OUTCOMES[deal.status], f"{cid}: wrong outcome"
            assert row.pnl == pytest.approx(deal.balance_change), f"{cid}: wrong pnl"
        for cid, row in stored.items():
            assert row.state in (OrderState.SETTLED, OrderState.FAILED), f"{cid}: {row.state}"
            if row.state is OrderState.FAILED:
                assert row.broker_order_id not in deals, f"{cid}: failed but has a deal"
        return stored

    async def wait_state(self, cid: str, states: tuple[OrderState, ...], timeout_s: float) -> None:
        for _ in range(int(timeout_s / 0.05)):
            row = self.stored().get(cid)
            if row is not None and row.state in states:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{cid} never reached {states}: {self.stored().get(cid)}")


@asynccontextmanager
async def rig(
    db: Path,
    server: FakeOlympServer,
    *,
    config: ExecutorConfig | None = None,
    connector: OlympConnector | None = None,
    **connector_options: Any,
) -> AsyncIterator[Rig]:
    """An executor (started, reconciled) on the Olymp connector for ``server``."""
    olymp = connector or olymp_connector(server, **connector_options)
    await olymp.connect()
    engine = migrated_sqlite(db) if not db.exists() else _engine(db)
    journal = OrderJournal(engine)
    executor = Executor(
        connector=olymp,
        journal=journal,
        clock=WallClock(),
        config=config or wall_config(),
        seed=3,
    )
    try:
        await executor.start(["acc-1"])
        yield Rig(server, olymp, engine, journal, executor)
    finally:
        await executor.stop()
        journal.close()
        await olymp.close()
        engine.dispose()


def _engine(db: Path) -> Engine:
    from moonlight.core.storage.engine import create_storage_engine

    return create_storage_engine(f"sqlite:///{db}")
