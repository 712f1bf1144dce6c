"""Shared pieces of the executor tests: migrated SQLite storage, a mock broker on a
fast-forward clock, an executor wired to both, and an event recorder."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.connectors.mock import MockConnector
from moonlight.core.events import AlarmRaised
from moonlight.core.execution.executor import Executor, ExecutorConfig
from moonlight.core.execution.journal import OrderIntent, OrderJournal
from moonlight.core.orders import Direction, OrderState
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.storage import migrate
from moonlight.core.storage.engine import create_storage_engine, session_factory
from moonlight.core.storage.models import Alarm, Order, Result
from moonlight.core.telemetry.alarms import AlarmCenter, sql_alarm_store

START_TS = 1_700_000_000.0
_TEMPLATES: dict[str, Path] = {}


def migrated_sqlite(path: Path) -> Engine:
    """A SQLite database at ``path`` at the head revision (copied from a cached template)."""
    template = _TEMPLATES.get("head")
    if template is None or not template.exists():
        template = path.with_name("template-head.db")
        engine = create_storage_engine(f"sqlite:///{template}")
        migrate.upgrade(engine)
        engine.dispose()
        _TEMPLATES["head"] = template
    shutil.copyfile(template, path)
    return create_storage_engine(f"sqlite:///{path}")


@dataclass
class Recorder:
    """Collects what the executor notifies, as ``(hook name, event)`` pairs; alarms also
    go to ``alarms`` (the engine's one alarm path: stored, logged, redacted once)."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    alarms: AlarmCenter | None = None

    def __call__(self, hook_name: str, **kwargs: Any) -> int:
        event = kwargs["event"]
        self.calls.append((hook_name, event))
        if self.alarms is not None and isinstance(event, AlarmRaised):
            self.alarms.raise_alarm(event.level, event.code, event.message, event.scope)
        return 0

    def of(self, hook_name: str) -> list[Any]:
        return [event for name, event in self.calls if name == hook_name]


@dataclass
class Harness:
    """An executor on a mock broker, a fast-forward clock and a SQLite journal."""

    clock: FastForwardClock
    mock: MockConnector
    engine: Engine
    sessions: sessionmaker[Session]
    journal: OrderJournal
    executor: Executor
    events: Recorder

    def orders(self) -> dict[str, Order]:
        with self.sessions() as session:
            return {o.client_req_id: o for o in session.scalars(select(Order))}

    def results(self) -> dict[str, Result]:
        with self.sessions() as session:
            rows = session.execute(select(Order.client_req_id, Result).join(Result.order))
            return {cid: result for cid, result in rows}

    def alarms(self) -> list[Alarm]:
        with self.sessions() as session:
            return list(session.scalars(select(Alarm).order_by(Alarm.id)))

    async def close(self) -> None:
        await self.executor.stop()
        await self.mock.close()
        self.journal.close()
        self.engine.dispose()


def fast_config(**overrides: Any) -> ExecutorConfig:
    """Executor timings that keep simulated tests short but meaningful."""
    values: dict[str, Any] = {
        "send_deadline_s": 20.0,
        "max_send_attempts": 6,
        "ack_grace_s": 5.0,
        "first_poll_delay_s": 2.0,
        "poll_interval_s": 2.0,
        "settle_grace_s": 20.0,
        "storage_retry_cap_s": 1.0,
    }
    values.update(overrides)
    return ExecutorConfig(**values)


async def make_harness(
    db_path: Path,
    *,
    config: ExecutorConfig | None = None,
    seed: int = 7,
    clock: FastForwardClock | None = None,
    mock: MockConnector | None = None,
    accounts: tuple[str, ...] = ("acc-1",),
    start: bool = True,
) -> Harness:
    """Build (and by default start) an executor on a fresh migrated database."""
    clock = clock or FastForwardClock(START_TS)
    mock = mock or MockConnector(seed=seed, clock=clock)
    await mock.connect()
    engine = (
        migrated_sqlite(db_path)
        if not db_path.exists()
        else create_storage_engine(f"sqlite:///{db_path}")
    )
    sessions = session_factory(engine)
    journal = OrderJournal(engine)
    events = Recorder(alarms=AlarmCenter(store=sql_alarm_store(sessions), clock=clock.now))
    executor = Executor(
        connector=mock,
        journal=journal,
        clock=clock,
        config=config or fast_config(),
        notify=events,
        seed=seed,
    )
    if start:
        await executor.start(accounts)
    return Harness(clock, mock, engine, sessions, journal, executor, events)


def intent(
    client_req_id: str,
    *,
    account_id: str = "acc-1",
    instrument: str = "EURUSD",
    direction: Direction = Direction.UP,
    stake: float = 10.0,
    duration_s: int = 60,
    decided_ts: float | None = None,
) -> OrderIntent:
    """A decision to trade with sensible defaults."""
    return OrderIntent(
        client_req_id=client_req_id,
        account_id=account_id,
        instrument=instrument,
        timeframe="1m",
        direction=direction,
        stake=stake,
        duration_s=duration_s,
        payout_pct=82.0,
        score=0.4,
        p_hat=0.6,
        decided_ts=decided_ts,
        indicators={"ema_9": 1.1},
        signals={"ema_rsi": "up"},
    )


TERMINAL = (OrderState.SETTLED, OrderState.FAILED)


def kill_at_marker(argv: list[str], marker: Path, log_path: Path, *, wait_s: float = 60.0) -> None:
    """Run the child ``argv`` until it writes ``marker`` (it then hangs at an exact
    point), SIGKILL it there, and check it died of the kill."""
    import pytest

    with open(log_path, "wb") as log:
        child = subprocess.Popen(argv, stdout=log, stderr=log)
        deadline = time.monotonic() + wait_s
        try:
            while not marker.exists():
                if child.poll() is not None:
                    tail = log_path.read_bytes().decode(errors="replace")[-2000:]
                    pytest.fail(f"child exited before pausing: {tail}")
                assert time.monotonic() < deadline, "child never reached the pause point"
                time.sleep(0.02)
            child.send_signal(signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def stored_orders(db_path: Path) -> tuple[dict[str, Order], dict[str, Result]]:
    """Every order in the SQLite file at ``db_path`` and the results, by client_req_id
    (read by a fresh engine, as a restarted process would)."""
    engine = create_storage_engine(f"sqlite:///{db_path}")
    try:
        with session_factory(engine)() as session:
            orders = {o.client_req_id: o for o in session.scalars(select(Order))}
            rows = session.execute(select(Order.client_req_id, Result).join(Result.order))
            return orders, {cid: result for cid, result in rows}
    finally:
        engine.dispose()
