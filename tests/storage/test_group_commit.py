"""The per-instant group commit: what one instant stages is one transaction of a few
executemany statements; failures answer the waiters and keep the rows; a row that
cannot move answers on its own; staged writes are idempotent.

Statements and COMMITs are counted at the driver boundary (SQLAlchemy engine events),
so these tests see what the database sees. Each runs on SQLite and, when
``MOONLIGHT_TEST_PG_URL`` is set, on PostgreSQL (the storage suite's ``engine`` fixture).
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from moonlight.core.execution.fsm import InvalidTransition
from moonlight.core.execution.journal import OrderJournal, ResultRecord, StateMismatch
from moonlight.core.orders import OrderState, Outcome
from moonlight.core.risk.sql_state_store import SqlGuardStateStore
from moonlight.core.storage.engine import session_factory
from moonlight.core.storage.errors import StorageUnavailable
from moonlight.core.storage.group_commit import GroupCommit
from moonlight.core.storage.models import EngineState, Order, Result
from tests.execution.support import START_TS, intent

S = OrderState


class Wire:
    """Counts statements (one per execute/executemany) and COMMITs on ``engine``, and
    fails every write like a full disk while ``full`` is True."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        self.commits = 0
        self.full = False
        event.listen(engine, "before_cursor_execute", self._execute)
        event.listen(engine, "commit", self._commit)

    def _execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.full and not statement.lstrip().upper().startswith("SELECT"):
            raise sqlite3.OperationalError("database or disk is full")
        self.statements.append(statement.split()[0].upper())

    def _commit(self, conn: Any) -> None:
        self.commits += 1

    def reset(self) -> None:
        self.statements.clear()
        self.commits = 0


def confirmed(journal: OrderJournal, count: int) -> list[str]:
    """``count`` orders walked to CONFIRM, each write committed on its own."""
    cids = [f"o-{n}" for n in range(count)]
    for n, cid in enumerate(cids):
        journal.create(intent(cid), at_ts=START_TS + n)
        journal.transition(cid, S.PREPARE, S.SEND, at_ts=START_TS + n)
        journal.transition(cid, S.SEND, S.CONFIRM, at_ts=START_TS + n, broker_order_id=f"B-{n}")
    return cids


def won(n: int) -> ResultRecord:
    return ResultRecord(outcome=Outcome.WIN, pnl=8.2 + n, settled_ts=START_TS + 60, exit_price=1.1)


def stored(engine: Engine) -> tuple[dict[str, OrderState], dict[str, float]]:
    with session_factory(engine)() as session:
        states = {o.client_req_id: o.state for o in session.scalars(select(Order))}
        rows = session.execute(select(Order.client_req_id, Result.pnl).join(Result.order))
        return states, {cid: float(pnl) for cid, pnl in rows}


async def test_an_instant_of_results_and_guard_state_is_one_transaction(engine: Engine) -> None:
    group = GroupCommit(engine)
    journal = OrderJournal(engine, group=group)
    store = SqlGuardStateStore(session_factory(engine), group=group)
    cids = confirmed(journal, 90)
    wire = Wire(engine)

    waits = []
    for n, cid in enumerate(cids):
        waits.append(journal.stage_finish(cid, S.CONFIRM, S.SETTLED, won(n), at_ts=START_TS + 60))
        with journal.bookkeeping():  # the trader's books of that result
            store.save("streak:acc-1", {"losses": 0, "n": n}, updated_by="moonlight")
    assert wire.commits == 0 and group.pending == 180  # nothing written before the flush

    assert await asyncio.gather(*waits) == [True] * 90
    assert wire.commits == 1
    # executemany: orders UPDATE, results INSERT…SELECT, one guard-state upsert -- not
    # one statement per contract (every row moved, so no SELECT is needed to answer)
    assert sorted(wire.statements) == ["INSERT", "INSERT", "UPDATE"]
    states, pnls = stored(engine)
    assert all(states[cid] is S.SETTLED for cid in cids)
    assert pnls == {cid: pytest.approx(8.2 + n) for n, cid in enumerate(cids)}
    with session_factory(engine)() as session:
        assert session.get(EngineState, "streak:acc-1").value == {"losses": 0, "n": 89}  # type: ignore[union-attr]


async def test_guard_state_outside_an_orders_bookkeeping_is_written_through(
    engine: Engine,
) -> None:
    group = GroupCommit(engine)
    store = SqlGuardStateStore(session_factory(engine), group=group)
    wire = Wire(engine)
    store.save("breaker:acc-1", {"tripped": True}, updated_by="moonlight")
    assert wire.commits == 1 and group.pending == 0  # a trip is durable at once


async def test_a_failed_flush_fails_its_waiters_and_keeps_its_rows(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("injects a SQLite driver error")
    group = GroupCommit(engine)
    journal = OrderJournal(engine, group=group)
    store = SqlGuardStateStore(session_factory(engine), group=group)
    first, second = confirmed(journal, 2)
    wire = Wire(engine)
    wire.full = True
    waiting = journal.stage_finish(first, S.CONFIRM, S.SETTLED, won(0), at_ts=START_TS + 60)
    with journal.bookkeeping():
        store.save("streak:acc-1", {"losses": 1}, updated_by="moonlight")
    with pytest.raises(StorageUnavailable):
        await waiting
    assert stored(engine) == ({first: S.CONFIRM, second: S.CONFIRM}, {})
    assert group.pending == 2  # kept for the next flush

    wire.full = False
    again = journal.stage_finish(second, S.CONFIRM, S.SETTLED, won(1), at_ts=START_TS + 61)
    assert await again is True
    states, pnls = stored(engine)
    assert states == {first: S.SETTLED, second: S.SETTLED}  # the kept row went too
    assert pnls == {first: pytest.approx(8.2), second: pytest.approx(9.2)}
    with session_factory(engine)() as session:
        assert session.get(EngineState, "streak:acc-1") is not None


async def test_a_row_that_cannot_move_answers_alone(engine: Engine) -> None:
    journal = OrderJournal(engine)
    good, stuck = confirmed(journal, 2)
    journal.create(intent("fresh"), at_ts=START_TS)  # still PREPARE
    waits = [
        journal.stage_finish(good, S.CONFIRM, S.SETTLED, won(0), at_ts=START_TS + 60),
        journal.stage_finish(stuck, S.CONFIRM, S.FAILED, won(1), at_ts=START_TS + 60),
        journal.stage_finish("fresh", S.CONFIRM, S.SETTLED, won(2), at_ts=START_TS + 60),
        journal.stage_finish("nobody", S.CONFIRM, S.SETTLED, won(3), at_ts=START_TS + 60),
    ]
    answers = await asyncio.gather(*waits, return_exceptions=True)
    assert answers[:2] == [True, True]
    assert isinstance(answers[2], StateMismatch)
    assert isinstance(answers[3], KeyError)
    states, pnls = stored(engine)
    assert states == {good: S.SETTLED, stuck: S.FAILED, "fresh": S.PREPARE}
    assert set(pnls) == {good, stuck}


async def test_a_staged_finish_written_twice_adds_one_result(engine: Engine) -> None:
    journal = OrderJournal(engine)
    (cid,) = confirmed(journal, 1)
    once = journal.stage_finish(cid, S.CONFIRM, S.SETTLED, won(0), at_ts=START_TS + 60)
    twice = journal.stage_finish(cid, S.CONFIRM, S.SETTLED, won(0), at_ts=START_TS + 60)
    assert await asyncio.gather(once, twice) == [True, True]
    later = journal.stage_finish(cid, S.CONFIRM, S.SETTLED, won(0), at_ts=START_TS + 61)
    assert await later is True  # already SETTLED: the same answer finish() gives
    assert stored(engine) == ({cid: S.SETTLED}, {cid: pytest.approx(8.2)})


async def test_staging_refuses_a_move_the_table_forbids(engine: Engine) -> None:
    journal = OrderJournal(engine)
    (cid,) = confirmed(journal, 1)
    with pytest.raises(InvalidTransition):
        journal.stage_finish(cid, S.CONFIRM, S.SEND, won(0), at_ts=START_TS)
    with pytest.raises(InvalidTransition):
        journal.stage_finish(cid, S.IDLE, S.SETTLED, won(0), at_ts=START_TS)
    assert journal.group.pending == 0


async def test_a_cascade_over_several_loop_turns_is_still_one_flush(engine: Engine) -> None:
    """Settlement → order task → trader takes a few loop iterations; rows staged while
    the previous iteration staged more join the same transaction."""
    group = GroupCommit(engine, keep_timings=True)
    journal = OrderJournal(engine, group=group)
    cids = confirmed(journal, 5)

    async def one(n: int, cid: str) -> bool:
        for _ in range(n):  # each order arrives one loop iteration after the previous
            await asyncio.sleep(0)
        return await journal.stage_finish(cid, S.CONFIRM, S.SETTLED, won(n), at_ts=START_TS)

    assert await asyncio.gather(*(one(n, cid) for n, cid in enumerate(cids))) == [True] * 5
    assert group.flush_rows == [5]
