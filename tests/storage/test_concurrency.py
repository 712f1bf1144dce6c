"""Readers never see "database is locked" while writers work (the API-vs-executor case).

One thread plays the executor (insert an order, then commit every transition and the
result separately, as fast as it can), one plays telemetry (metric batches), and two play
the HTTP API (fresh session per "request", the queries the dashboard makes). Every
thread uses its own pooled connection, so on SQLite this exercises WAL's reader/writer
independence and the busy timeout between the two writers. Bounded: the executor writes
a fixed number of orders and every thread stops at a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from moonlight.core.orders import Direction, OrderState, Outcome
from moonlight.core.storage import repository as repo
from moonlight.core.storage.engine import session_factory
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.models import Metric, MetricScope, Order, Result
from tests.support import storage_rows as rows

ORDERS = 120
DEADLINE_S = 120.0


def _executor(sessions: Callable[[], Session], stop: threading.Event) -> None:
    for index in range(ORDERS):
        with translate_storage_errors(), sessions() as session:
            order = rows.insert_order(
                session,
                client_req_id=f"conc-{index}",
                account_id=f"acc{index % 3}",
                instrument="EURUSD",
                timeframe="1m",
                direction=Direction.UP if index % 2 else Direction.DOWN,
                stake=1.0 + index,
                currency="USD",
                duration_s=60,
                payout_pct=80.0,
                strategy_snapshot={"i": index},
            )
            session.commit()
            for state in (OrderState.PREPARE, OrderState.SEND, OrderState.CONFIRM):
                rows.record_transition(session, order, state, broker_order_id=f"B{index}")
                session.commit()
            rows.record_transition(session, order, OrderState.SETTLED)
            rows.record_result(session, order, outcome=Outcome.WIN, pnl=0.8)
            session.commit()
        if stop.is_set():
            return


def _telemetry(sessions: Callable[[], Session], done: threading.Event) -> int:
    batches = 0
    while not done.is_set():
        with translate_storage_errors(), sessions() as session:
            repo.insert_metrics(
                session,
                [
                    repo.MetricSample("open_orders", float(batches), MetricScope.ACCOUNT, "acc1"),
                    repo.MetricSample("latency_ms", 12.0),
                ],
            )
            session.commit()
        batches += 1
        time.sleep(0.005)
    return batches


def _api_reader(sessions: Callable[[], Session], done: threading.Event) -> int:
    requests = 0
    while not done.is_set():
        with translate_storage_errors(), sessions() as session:
            recent = repo.recent_orders(session, limit=50)
            for order in recent[:10]:
                _ = order.result  # lazy load, like serialising an order with its result
            session.execute(select(Order.state, func.count()).group_by(Order.state)).all()
            repo.non_terminal_orders(session)
            session.scalars(
                select(Metric).where(Metric.name == "open_orders").order_by(Metric.ts.desc())
            ).first()
        requests += 1
    return requests


def test_readers_and_writers_never_hit_locked(engine: Engine) -> None:
    sessions = session_factory(engine)
    errors: list[BaseException] = []
    counts: dict[str, int] = {}
    executor_done = threading.Event()

    def run(name: str, target: Callable[[], int | None]) -> None:
        try:
            counts[name] = target() or 0
        except BaseException as error:  # collected and asserted below
            errors.append(error)
            executor_done.set()

    def executor() -> None:
        try:
            _executor(sessions, executor_done)
        finally:
            executor_done.set()

    threads = [
        threading.Thread(target=run, args=("executor", executor)),
        threading.Thread(
            target=run, args=("telemetry", lambda: _telemetry(sessions, executor_done))
        ),
        threading.Thread(target=run, args=("api-1", lambda: _api_reader(sessions, executor_done))),
        threading.Thread(target=run, args=("api-2", lambda: _api_reader(sessions, executor_done))),
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    deadline = threading.Timer(DEADLINE_S, executor_done.set)
    deadline.start()
    for thread in threads:
        thread.join(DEADLINE_S + 30)
    deadline.cancel()
    elapsed_s = time.monotonic() - started

    assert not errors, f"{len(errors)} error(s), first: {errors[0]!r}"
    assert all(not thread.is_alive() for thread in threads)
    assert counts["api-1"] > 0 and counts["api-2"] > 0 and counts["telemetry"] > 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Result)) == ORDERS
        assert repo.non_terminal_orders(session) == []
    commits = ORDERS * 5 + counts["telemetry"]
    print(
        f"\n[{engine.dialect.name}] {commits} commits, "
        f"{counts['api-1'] + counts['api-2']} API reads in {elapsed_s:.2f} s"
    )
