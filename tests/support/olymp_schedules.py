"""Seeded fault schedules against the strict fake Olymp broker, judged by the broker's book.

One schedule is a seed. The seed decides how many orders go out (stake, direction,
duration, spacing), which faults hit before each order — dropped sockets, an outage
during which deals settle, lost or late e:23 replies, lost / duplicated / late
settlement pushes, burst rejections (the broker's rate limit), HTTP 429 on the history —
and whether the "engine" (connector + executor, on the same storage) is restarted while
an order is in flight. When the orders are done the faults are lifted, every order is
given time to end, and :func:`tests.support.broker_book.audit` compares storage with the
broker's book: every deal stored once with its outcome and PnL, no FAILED order the
broker settled, no unknown deal, no duplicate ``client_req_id``.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from moonlight.connectors.olymp import OlympConnector
from moonlight.core.execution.executor import Executor, ExecutorConfig
from moonlight.core.execution.journal import OrderJournal
from moonlight.core.orders import Direction
from moonlight.core.runtime.clock import WallClock
from tests.execution.support import intent, migrated_sqlite
from tests.support.broker_book import audit
from tests.support.olymp_fake import StrictOlympBroker
from tests.support.olymp_rig import strict_connector

FAULTS = (
    "drop",
    "outage",
    "lose_reply",
    "late_reply",
    "lose_settlement",
    "duplicate_pushes",
    "late_push",
    "burst",
    "history_429",
    "restart",
)


@dataclass
class ScheduleResult:
    """What one schedule did and what the audit found."""

    seed: int
    orders: int
    deals: int
    faults: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


@dataclass
class _Stack:
    """One "engine": a connector and an executor on the schedule's storage."""

    connector: OlympConnector
    journal: OrderJournal
    executor: Executor

    @classmethod
    async def start(
        cls, broker: StrictOlympBroker, engine: Engine, config: ExecutorConfig, seed: int
    ) -> _Stack:
        connector = strict_connector(broker)
        await connector.connect()
        journal = OrderJournal(engine)
        executor = Executor(
            connector=connector, journal=journal, clock=WallClock(), config=config, seed=seed
        )
        await executor.start(["acc-1"])
        return cls(connector, journal, executor)

    async def stop(self) -> None:
        await self.executor.stop()
        self.journal.close()
        await self.connector.close()


async def _inject(broker: StrictOlympBroker, kind: str, rng: random.Random) -> None:
    faults = broker.faults
    if kind == "drop":
        await broker.drop_all()
    elif kind == "outage":
        await broker.outage(rng.uniform(0.3, 2.5))
    elif kind == "lose_reply":
        faults.lose_replies += 1
    elif kind == "late_reply":
        faults.late_reply_s = rng.uniform(1.6, 3.0)  # past the connector's order timeout
    elif kind == "lose_settlement":
        faults.lose_settlements += rng.randint(1, 2)
    elif kind == "duplicate_pushes":
        faults.duplicate_pushes = True
    elif kind == "late_push":
        faults.late_push_s = rng.uniform(0.5, 2.5)
    elif kind == "burst":
        faults.burst_rejects += rng.randint(1, 2)
    elif kind == "history_429":
        faults.history_429 += rng.randint(1, 3)


def _lift(broker: StrictOlympBroker) -> None:
    faults = broker.faults
    faults.late_reply_s = faults.late_push_s = 0.0
    faults.duplicate_pushes = False
    faults.lose_replies = faults.burst_rejects = faults.history_429 = 0


async def run_schedule(seed: int, workdir: Path, config: ExecutorConfig) -> ScheduleResult:
    """Run the schedule of ``seed`` and audit storage against the broker's book."""
    rng = random.Random(seed)
    engine = migrated_sqlite(workdir / f"schedule-{seed}.db")
    orders = rng.randint(2, 4)
    result = ScheduleResult(seed, orders, 0)
    async with StrictOlympBroker(seed=seed) as broker:
        stack = await _Stack.start(broker, engine, config, seed)
        tasks: list[asyncio.Task[Any]] = []
        try:
            for index in range(orders):
                kinds = rng.sample(FAULTS, rng.randint(0, 2))
                for kind in kinds:
                    result.faults[kind] += 1
                    if kind != "restart":
                        await _inject(broker, kind, rng)
                decision = intent(
                    f"s{seed}-{index}",
                    account_id="acc-1",
                    instrument=rng.choice(("EURUSD", "GBPUSD_OTC", "ASIA_X")),
                    direction=rng.choice((Direction.UP, Direction.DOWN)),
                    stake=rng.choice((1.0, 2.5, 10.0)),
                    duration_s=rng.choice((1, 2, 3)),
                )
                tasks.append(stack.executor.submit(decision))
                await asyncio.sleep(rng.uniform(0.05, 0.8))
                if "restart" in kinds:
                    await stack.stop()  # mid-order: its state is on disk, its task is gone
                    stack = await _Stack.start(broker, engine, config, seed + 1)
            _lift(broker)
            await asyncio.gather(*tasks, return_exceptions=True)
            await stack.executor.wait_idle()
        finally:
            await stack.stop()
        result.deals = len(broker.deals)
        result.problems = audit(sessionmaker(engine), broker.book())
    engine.dispose()
    return result
