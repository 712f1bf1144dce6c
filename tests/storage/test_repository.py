"""Models and repository functions against a migrated database (each backend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, exc, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from moonlight.core.events import AlarmLevel
from moonlight.core.orders import Direction, OrderState, Outcome
from moonlight.core.storage import repository as repo
from moonlight.core.storage.engine import session_factory
from moonlight.core.storage.models import (
    Alarm,
    Calibration,
    Feature,
    Metric,
    MetricScope,
    Order,
    PaperAccount,
    PaperContract,
    Result,
    Run,
    RunKind,
)
from tests.support import storage_rows as rows


def _order(session: Session, client_req_id: str = "req-1", **overrides: Any) -> Order:
    fields: dict[str, Any] = {
        "client_req_id": client_req_id,
        "account_id": "acc1",
        "instrument": "EURUSD",
        "timeframe": "1m",
        "direction": Direction.UP,
        "stake": 10.0,
        "currency": "USD",
        "duration_s": 60,
        "payout_pct": 82.0,
        "score": 0.42,
        "p_hat": 0.61,
        "strategy_snapshot": {"ensemble": {"rsi": 0.5, "ema": 0.5}},
    }
    fields.update(overrides)
    return rows.insert_order(session, **fields)


def test_client_req_id_unique_in_the_database(session: Session) -> None:
    _order(session, "dup")
    session.commit()
    session.add(
        Order(
            client_req_id="dup",
            account_id="acc1",
            instrument="EURUSD",
            timeframe="1m",
            direction=Direction.DOWN,
            stake=1.0,
            currency="USD",
            duration_s=60,
            payout_pct=80.0,
        )
    )
    with pytest.raises(exc.IntegrityError):
        session.commit()
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_insert_order_reports_a_duplicate_decision(session: Session) -> None:
    _order(session, "same")
    session.commit()
    with pytest.raises(repo.DuplicateOrderError) as raised:
        _order(session, "same", direction=Direction.DOWN)
    assert raised.value.client_req_id == "same"
    session.rollback()
    stored = repo.find_order(session, "same")
    assert stored is not None and stored.direction is Direction.UP


def test_transitions_stamp_their_timestamps_in_utc(session: Session) -> None:
    order = _order(session)
    session.commit()
    assert order.state is OrderState.IDLE and order.created_at.tzinfo is not None
    base = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    steps = [
        (OrderState.PREPARE, "prepared_at"),
        (OrderState.SEND, "sent_at"),
        (OrderState.CONFIRM, "confirmed_at"),
        (OrderState.SETTLED, "settled_at"),
    ]
    for offset, (state, _column) in enumerate(steps):
        broker_id = "B-77" if state is OrderState.CONFIRM else None
        at = base + timedelta(seconds=offset)
        rows.record_transition(session, order, state, at=at, broker_order_id=broker_id)
        session.commit()
    session.expunge_all()
    stored = repo.find_order(session, "req-1")
    assert stored is not None
    for offset, (_state, column) in enumerate(steps):
        value = getattr(stored, column)
        assert value == base + timedelta(seconds=offset)
        assert value.utcoffset() == timedelta(0)
    assert stored.failed_at is None
    assert stored.broker_order_id == "B-77"
    assert repo.find_order_by_broker_id(session, "B-77") is not None


def test_non_utc_times_are_converted_and_naive_times_refused(session: Session) -> None:
    plus_two = timezone(timedelta(hours=2))
    order = _order(session, created_at=datetime(2025, 6, 1, 12, 0, tzinfo=plus_two))
    session.commit()
    session.expunge_all()
    stored = repo.find_order(session, order.client_req_id)
    assert stored is not None
    assert stored.created_at == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(0)
    with pytest.raises(exc.StatementError, match="naive datetime"):
        _order(session, "naive", created_at=datetime(2025, 6, 1, 12, 0))
    session.rollback()


def test_failure_records_reason_and_retry_count(session: Session) -> None:
    order = _order(session)
    rows.record_transition(session, order, OrderState.PREPARE)
    rows.record_transition(session, order, OrderState.SEND, retry_count=3)
    rows.record_transition(session, order, OrderState.FAILED, reason="rejected: market closed")
    session.commit()
    session.expunge_all()
    stored = repo.find_order(session, "req-1")
    assert stored is not None
    assert stored.state is OrderState.FAILED
    assert stored.failed_at is not None and stored.settled_at is None
    assert stored.failure_reason == "rejected: market closed"
    assert stored.retry_count == 3


def test_non_terminal_orders_are_the_ones_to_reconcile(session: Session) -> None:
    states = list(OrderState)
    for index, state in enumerate(states):
        order = _order(session, f"r{index}", account_id="a" if index % 2 else "b")
        if state is not OrderState.IDLE:
            rows.record_transition(session, order, state)
    session.commit()
    open_orders = repo.non_terminal_orders(session)
    assert {o.state for o in open_orders} == {
        OrderState.IDLE,
        OrderState.PREPARE,
        OrderState.SEND,
        OrderState.CONFIRM,
    }
    assert all(o.account_id == "a" for o in repo.non_terminal_orders(session, account_id="a"))
    assert len(repo.non_terminal_orders(session, account_id="a")) == 2


def test_stale_copy_of_an_order_cannot_overwrite(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions() as first:
        _order(first)
        first.commit()
    with sessions() as first, sessions() as second:
        mine = repo.find_order(first, "req-1")
        theirs = repo.find_order(second, "req-1")
        assert mine is not None and theirs is not None
        rows.record_transition(second, theirs, OrderState.PREPARE)
        second.commit()
        with pytest.raises(StaleDataError):
            rows.record_transition(first, mine, OrderState.FAILED, reason="late")
        first.rollback()
    with sessions() as check:
        stored = repo.find_order(check, "req-1")
        assert stored is not None and stored.state is OrderState.PREPARE


def test_result_and_features_one_per_order(session: Session) -> None:
    order = _order(session)
    rows.record_features(
        session,
        order,
        indicators={"rsi_14": 55.5, "ema_warmup": float("nan"), "arr": np.array([1.0, 2.0])},
        signals={"rsi": {"direction": "up", "strength": 0.7}},
        extras={"bar_close": np.float64(1.1)},
    )
    rows.record_result(
        session,
        order,
        outcome=Outcome.WIN,
        pnl=8.2,
        entry_price=1.10001,
        exit_price=1.10005,
        latencies=rows.Latencies(12.5, 80.0, 950.0),
    )
    session.commit()
    session.expunge_all()
    stored = repo.find_order(session, "req-1")
    assert stored is not None and stored.result is not None and stored.features is not None
    assert stored.result.outcome is Outcome.WIN
    assert stored.result.pnl == pytest.approx(8.2)
    assert stored.result.latency_send_to_ack_ms == 80.0
    assert stored.features.indicators == {"rsi_14": 55.5, "ema_warmup": None, "arr": [1.0, 2.0]}
    assert stored.features.extras == {"bar_close": 1.1}
    with pytest.raises(exc.IntegrityError):
        rows.record_result(session, stored, outcome=Outcome.LOSE, pnl=-10.0)
    session.rollback()


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(Result(order_id=999_999, outcome=Outcome.WIN, pnl=1.0))
    with pytest.raises(exc.IntegrityError):
        session.commit()
    session.rollback()


def test_deleting_an_order_deletes_its_result_and_features(session: Session) -> None:
    order = _order(session)
    rows.record_result(session, order, outcome=Outcome.PUSH, pnl=0.0)
    rows.record_features(session, order, indicators={}, signals={})
    session.commit()
    session.execute(text("DELETE FROM orders"))
    session.commit()
    assert session.scalar(select(func.count()).select_from(Result)) == 0
    assert session.scalar(select(func.count()).select_from(Feature)) == 0


def test_enum_columns_refuse_unknown_values(session: Session) -> None:
    _order(session)
    session.commit()
    with pytest.raises(exc.IntegrityError):
        session.execute(text("UPDATE orders SET direction = 'sideways'"))
        session.commit()
    session.rollback()
    with pytest.raises(exc.IntegrityError):
        session.execute(text("UPDATE orders SET state = 'settled-ish'"))
        session.commit()
    session.rollback()


def test_money_keeps_eight_decimals(session: Session) -> None:
    _order(session, stake=12345678.12345678)
    session.commit()
    session.expunge_all()
    stored = repo.find_order(session, "req-1")
    assert stored is not None
    assert isinstance(stored.stake, float)
    assert stored.stake == pytest.approx(12345678.12345678, abs=1e-8)


def test_metrics_bulk_insert_and_query_by_name(session: Session) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    samples = [
        repo.MetricSample("pnl", float(i), MetricScope.ACCOUNT, "acc1", t0 + timedelta(minutes=i))
        for i in range(50)
    ]
    samples.append(repo.MetricSample("cpu_pct", 12.0))
    assert repo.insert_metrics(session, samples) == 51
    assert repo.insert_metrics(session, []) == 0
    session.commit()
    rows = session.scalars(
        select(Metric)
        .where(Metric.name == "pnl", Metric.ts >= t0 + timedelta(minutes=40))
        .order_by(Metric.ts)
    ).all()
    assert [m.value for m in rows] == [float(i) for i in range(40, 50)]
    assert all(m.scope is MetricScope.ACCOUNT and m.scope_key == "acc1" for m in rows)


def test_instrument_cache_upsert_replaces(session: Session) -> None:
    first = repo.upsert_instrument(
        session,
        connector="mock",
        instrument="EURUSD",
        payout_pct=80.0,
        allowed_durations_s=[60, 300],
        stake_min=1.0,
        stake_max=1000.0,
        trading_hours={"mon": ["00:00", "24:00"]},
    )
    session.commit()
    second = repo.upsert_instrument(
        session,
        connector="mock",
        instrument="EURUSD",
        payout_pct=85.0,
        allowed_durations_s=[60],
        stake_min=2.0,
        stake_max=500.0,
    )
    session.commit()
    assert second.id == first.id
    cached = repo.cached_instruments(session, "mock")
    assert len(cached) == 1
    assert cached[0].payout_pct == 85.0
    assert cached[0].allowed_durations_s == [60]
    assert cached[0].trading_hours is None


def test_engine_state_survives_a_new_session(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions() as session:
        assert repo.get_engine_state(session, "killswitch:global") is None
        repo.set_engine_state(session, "killswitch:global", {"engaged": True}, updated_by="op")
        repo.set_engine_state(session, "guard:daily_loss:acc1", {"tripped_until": "2025-01-02"})
        repo.set_engine_state(session, "killswitch:global", {"engaged": False}, updated_by="api")
        session.commit()
    with sessions() as session:
        assert repo.get_engine_state(session, "killswitch:global") == {"engaged": False}
        assert set(repo.engine_states(session, "guard:")) == {"guard:daily_loss:acc1"}
        assert repo.engine_states(session, "kill%") == {}


def test_alarms_audit_runs_and_calibrations(session: Session) -> None:
    repo.record_alarm(session, level=AlarmLevel.CRITICAL, code="storage", message="disk full")
    repo.record_audit(session, actor="operator", action="killswitch", detail={"on": True})
    run = repo.start_run(session, run_id="bt-1", kind=RunKind.BACKTEST, config={"speed": 10})
    _order(session, run_id=run.id)
    repo.finish_run(session, run, summary={"orders": 1, "hit_rate": float("nan")})
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    for minutes, a in ((0, 1.0), (5, 2.0)):
        session.add(
            Calibration(
                instrument="EURUSD",
                timeframe="1m",
                a=a,
                b=0.1,
                n_samples=300,
                created_at=t0 + timedelta(minutes=minutes),
                metrics={"brier": 0.24},
            )
        )
    session.add(Calibration(a=9.0, b=0.0, n_samples=5000, created_at=t0))
    session.commit()
    alarm = session.scalars(select(Alarm)).one()
    assert alarm.level is AlarmLevel.CRITICAL and alarm.scope == "global"
    session.expunge_all()
    stored_run = session.get(Run, "bt-1")
    assert stored_run is not None and stored_run.finished_at is not None
    assert stored_run.summary == {"orders": 1, "hit_rate": None}  # NaN stored as null
    latest = repo.latest_calibration(session, instrument="EURUSD", timeframe="1m")
    assert latest is not None and latest.a == 2.0
    global_fit = repo.latest_calibration(session)
    assert global_fit is not None and global_fit.a == 9.0
    assert repo.latest_calibration(session, instrument="GBPUSD", timeframe="1m") is None
    assert session.scalars(select(Order)).one().run_id == "bt-1"


def test_paper_book_rows(session: Session) -> None:
    now = datetime(2025, 1, 1, 12, tzinfo=UTC)
    session.add(
        PaperAccount(
            account_id="paper1", currency="USD", balance=1000.0, start_of_day_balance=1000.0
        )
    )
    session.add(
        PaperContract(
            client_req_id="c1",
            broker_order_id="P-1",
            account_id="paper1",
            instrument="EURUSD",
            direction=Direction.DOWN,
            stake=5.0,
            payout_pct=80.0,
            duration_s=60,
            accepted_at=now,
            expires_at=now + timedelta(seconds=60),
        )
    )
    session.commit()
    open_contracts = session.scalars(
        select(PaperContract).where(PaperContract.settled_at.is_(None))
    ).all()
    assert [c.broker_order_id for c in open_contracts] == ["P-1"]
    assert open_contracts[0].outcome is None
    session.add(
        PaperContract(
            client_req_id="c1",
            broker_order_id="P-2",
            account_id="paper1",
            instrument="EURUSD",
            direction=Direction.UP,
            stake=5.0,
            payout_pct=80.0,
            duration_s=60,
            accepted_at=now,
            expires_at=now,
        )
    )
    with pytest.raises(exc.IntegrityError):
        session.commit()
    session.rollback()
