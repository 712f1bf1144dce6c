"""A trading desk against the strict fake broker: connector + executor + SQLite storage,
restartable, audited against the broker's book (:func:`tests.support.broker_book.audit`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from moonlight.connectors.deriv.config import DerivConfig
from moonlight.connectors.deriv.connector import DerivConnector
from moonlight.core.execution.executor import Executor, ExecutorConfig, OrderReport
from moonlight.core.execution.journal import OrderJournal
from moonlight.core.orders import Direction
from moonlight.core.runtime.clock import ScaledClock
from moonlight.core.storage.engine import session_factory
from tests.execution.support import Recorder, intent, migrated_sqlite
from tests.support.broker_book import audit
from tests.support.deriv_broker import DerivBroker

ACCOUNT = "acc-1"
SYMBOL = "frxGBPUSD"
DEMO_TOKEN = "demo-token"
REAL_TOKEN = "real-token"


def options(broker: DerivBroker, **overrides: Any) -> dict[str, Any]:
    """Connector options for the strict fake: loopback only, short real-time timings."""
    values: dict[str, Any] = {
        "ws_url": broker.url,
        "app_id": 1089,
        "allowed_hosts": ["127.0.0.1"],
        "symbols": [SYMBOL, "R_100"],
        "connect_timeout_s": 5.0,
        "request_timeout_s": 2.0,
        "buy_timeout_s": 0.5,
        "ping_interval_s": 5.0,
        "ping_timeout_s": 2.0,
        "reconnect_base_s": 0.05,
        "reconnect_cap_s": 0.3,
        "stable_after_s": 2.0,
        "rate_wait_s": 0.5,
        "rate_limit_retry_s": 0.2,
        "settle_check_s": 2.0,
        "history_page_size": 5,
    }
    values.update(overrides)
    return values


def executor_config() -> ExecutorConfig:
    """Executor timings in server seconds (the desk's clock runs fast)."""
    return ExecutorConfig(
        send_deadline_s=60.0,
        max_send_attempts=20,
        backoff_base_s=1.0,
        backoff_cap_s=4.0,
        ack_grace_s=20.0,
        lookup_interval_s=2.0,
        first_poll_delay_s=3.0,
        poll_interval_s=2.0,
        settle_grace_s=60.0,
    )


@dataclass
class Desk:
    """One account trading on the fake broker; :meth:`restart` is an engine restart."""

    broker: DerivBroker
    clock: ScaledClock
    db: Engine
    token: str = DEMO_TOKEN
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    connector: DerivConnector | None = None
    executor: Executor | None = None
    journal: OrderJournal | None = None

    async def open(self) -> None:
        config = DerivConfig.model_validate(options(self.broker, **self.overrides))
        self.connector = DerivConnector(
            config,
            token=self.token,
            clock=self.clock,
            rng=random.Random(self.seed),
            sessions=self.sessions(),
        )
        await self.connector.connect()
        self.journal = OrderJournal(self.db)
        self.executor = Executor(
            connector=self.connector,
            journal=self.journal,
            clock=self.clock,
            config=executor_config(),
            notify=Recorder(),
            seed=self.seed,
        )
        await self.executor.start([ACCOUNT])

    async def close(self) -> None:
        if self.executor is not None:
            await self.executor.stop()
        if self.connector is not None:
            await self.connector.close()
        if self.journal is not None:
            self.journal.close()
        self.executor = self.connector = self.journal = None

    async def restart(self) -> None:
        """Stop everything mid-flight (state is in storage) and start again."""
        await self.close()
        await self.open()

    def submit(self, cid: str, *, stake: float, up: bool, duration_s: int = 15) -> Any:
        assert self.executor is not None
        decision = intent(
            cid,
            account_id=ACCOUNT,
            instrument=SYMBOL,
            direction=Direction.UP if up else Direction.DOWN,
            stake=stake,
            duration_s=duration_s,
            decided_ts=self.clock.now(),
        )
        return self.executor.submit(decision)

    async def settle_all(self, timeout_s: float = 60.0) -> None:
        """Wait for every order of this run (resumed ones too) to finish."""
        assert self.executor is not None
        await asyncio.wait_for(self.executor.wait_idle(), timeout_s)

    def sessions(self) -> Any:
        return session_factory(self.db)

    def audit(self) -> list[str]:
        return audit(self.sessions(), self.broker.book(), pnl_tolerance=0.005)


@asynccontextmanager
async def broker_and_clock(
    seed: int, *, speed: float = 20.0, tokens: Sequence[tuple[str, tuple[str, ...]]] = ()
) -> AsyncIterator[tuple[DerivBroker, ScaledClock]]:
    """A started strict fake on its own fast clock (``speed`` server seconds per second)."""
    clock = ScaledClock(start=1_780_000_000.0, speed=speed)
    broker = DerivBroker(clock, seed=seed)
    broker.add_token(DEMO_TOKEN, "VRTC7000001", "CR7000002")
    broker.add_token(REAL_TOKEN, "CR7000002", "VRTC7000001")
    for token, logins in tokens:
        broker.add_token(token, *logins)
    await broker.start()
    try:
        yield broker, clock
    finally:
        await broker.stop()


def desk_db(tmp_path: Path, name: str) -> Engine:
    return migrated_sqlite(tmp_path / f"{name}.db")


async def finished(tasks: Sequence[asyncio.Task[OrderReport]], timeout_s: float = 60.0) -> None:
    """Await order tasks (those of a stopped executor end cancelled: ignored)."""
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout_s)
