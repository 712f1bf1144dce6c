"""The memory journal keeps the executor's contract and stores the same rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from moonlight.core.backtest.journal import MemoryJournal
from moonlight.core.config import MoonlightConfig
from moonlight.core.events import AlarmLevel
from moonlight.core.execution.fsm import InvalidTransition
from moonlight.core.execution.journal import (
    Journal,
    OrderIntent,
    OrderJournal,
    ResultRecord,
    StateMismatch,
)
from moonlight.core.orders import Direction, OrderState, Outcome
from moonlight.core.storage import models
from moonlight.core.storage.engine import session_factory
from moonlight.core.storage.migrate import prepare_storage
from moonlight.core.storage.repository import DuplicateOrderError

T = 1_704_067_200.0


def intent(number: int) -> OrderIntent:
    return OrderIntent(
        client_req_id=f"acc:EURUSD:1m:{number}",
        account_id="acc",
        instrument="EURUSD",
        timeframe="1m",
        direction=Direction.UP if number % 2 else Direction.DOWN,
        stake=2.5,
        duration_s=60,
        payout_pct=85.0,
        score=0.25,
        p_hat=0.61,
        decided_ts=T + number,
        indicators={"ema": 1.0},
        signals={"a": ["up", 0.5, "x"]},
    )


async def drive(journal: Journal) -> None:
    for number in range(3):
        journal.create(intent(number), at_ts=T + number)
        journal.transition(
            intent(number).client_req_id, OrderState.PREPARE, OrderState.SEND, at_ts=T + number
        )
    cid = intent(0).client_req_id
    journal.transition(cid, OrderState.SEND, OrderState.CONFIRM, at_ts=T + 1, broker_order_id="P-0")
    await journal.stage_finish(
        cid,
        OrderState.CONFIRM,
        OrderState.SETTLED,
        ResultRecord(
            Outcome.WIN,
            2.125,
            T + 61,
            entry_price=1.1,
            exit_price=1.2,
            opened_ts=T,
            expires_ts=T + 60,
        ),
        at_ts=T + 61,
        broker_order_id="P-0",
    )
    await journal.stage_finish(
        intent(1).client_req_id,
        OrderState.SEND,
        OrderState.FAILED,
        ResultRecord(Outcome.ABORT, 0.0, T + 2, reason="rejected: stake"),
        at_ts=T + 2,
    )
    journal.record_alarm(AlarmLevel.WARNING, "code", "message", "acc:acc")


def rows(config: MoonlightConfig) -> list[tuple[object, ...]]:
    engine = prepare_storage(config)
    with session_factory(engine)() as session:
        found = session.execute(
            select(
                models.Order.client_req_id,
                models.Order.state,
                models.Order.direction,
                models.Order.stake,
                models.Order.p_hat,
                models.Order.broker_order_id,
                models.Order.sent_at,
                models.Order.confirmed_at,
                models.Order.settled_at,
                models.Order.failed_at,
                models.Order.failure_reason,
                models.Order.version,
                models.Result.outcome,
                models.Result.pnl,
                models.Result.entry_price,
                models.Result.reason,
                models.Feature.indicators,
            )
            .outerjoin(models.Result, models.Result.order_id == models.Order.id)
            .outerjoin(models.Feature, models.Feature.order_id == models.Order.id)
            .order_by(models.Order.client_req_id)
        ).all()
        alarms = session.scalars(select(models.Alarm.code)).all()
    engine.dispose()
    return [*map(tuple, found), tuple(alarms)]


async def test_the_same_writes_store_the_same_rows(tmp_path: Path) -> None:
    stored = []
    for kind in (OrderJournal, MemoryJournal):
        config = MoonlightConfig(data_dir=tmp_path / kind.__name__)
        engine = prepare_storage(config)
        journal: Journal = kind(engine)
        await drive(journal)
        journal.close()
        engine.dispose()
        stored.append(rows(config))
    assert stored[0] == stored[1]
    assert len(stored[0]) == 4


def test_contract_errors_and_reads(tmp_path: Path) -> None:
    engine = prepare_storage(MoonlightConfig(data_dir=tmp_path))
    journal = MemoryJournal(engine)
    journal.create(intent(0), at_ts=T)
    with pytest.raises(DuplicateOrderError):
        journal.create(intent(0), at_ts=T)
    cid = intent(0).client_req_id
    assert journal.transition(cid, OrderState.PREPARE, OrderState.SEND, at_ts=T)
    assert not journal.transition(cid, OrderState.PREPARE, OrderState.SEND, at_ts=T)  # already
    with pytest.raises(StateMismatch):
        journal.transition(cid, OrderState.CONFIRM, OrderState.SETTLED, at_ts=T)
    with pytest.raises(InvalidTransition):
        journal.transition(cid, OrderState.SEND, OrderState.IDLE, at_ts=T)
    with pytest.raises(KeyError):
        journal.update("nope", retry_count=1)
    journal.update(cid, broker_order_id="P-x", retry_count=2)
    assert journal.get_by_broker_id("P-x") == journal.get(cid)
    assert [o.client_req_id for o in journal.non_terminal()] == [cid]
    assert journal.flush() == 1 and journal.flush() == 0
    engine.dispose()
