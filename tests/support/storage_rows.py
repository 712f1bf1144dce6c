"""Writers of stored order history for tests: rows put straight into the tables.

They bypass the executor's state machine on purpose (a test that needs a year of settled
orders for calibration, or two sessions racing on one row, builds them here). The
product never writes orders this way: the executor's journal
(:class:`~moonlight.core.execution.journal.OrderJournal`) is the only checked write path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exc
from sqlalchemy.orm import Session

from moonlight.core.events import utc_now
from moonlight.core.orders import Direction, OrderState, Outcome
from moonlight.core.storage.models import Feature, Order, Result
from moonlight.core.storage.repository import TRANSITION_TIMESTAMPS, DuplicateOrderError


def insert_order(
    session: Session,
    *,
    client_req_id: str,
    account_id: str,
    instrument: str,
    timeframe: str,
    direction: Direction,
    stake: float,
    currency: str,
    duration_s: int,
    payout_pct: float,
    score: float | None = None,
    p_hat: float | None = None,
    strategy_snapshot: dict[str, Any] | None = None,
    run_id: str | None = None,
    created_at: datetime | None = None,
) -> Order:
    """Insert a new order in state IDLE; raise :class:`DuplicateOrderError` if it exists."""
    now = created_at or utc_now()
    order = Order(
        client_req_id=client_req_id,
        account_id=account_id,
        instrument=instrument,
        timeframe=timeframe,
        direction=Direction(direction),
        stake=stake,
        currency=currency,
        duration_s=duration_s,
        payout_pct=payout_pct,
        score=score,
        p_hat=p_hat,
        state=OrderState.IDLE,
        strategy_snapshot=strategy_snapshot,
        retry_count=0,
        run_id=run_id,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    try:
        session.flush()
    except exc.IntegrityError as error:
        if "client_req_id" in str(error.orig):
            raise DuplicateOrderError(client_req_id) from error
        raise
    return order


def record_transition(
    session: Session,
    order: Order,
    to_state: OrderState,
    *,
    at: datetime | None = None,
    reason: str | None = None,
    broker_order_id: str | None = None,
    retry_count: int | None = None,
) -> Order:
    """Move ``order`` to ``to_state`` and stamp the matching ``*_at`` column.

    The executor's transition table decides whether the move is allowed; this function
    only records it. ``reason`` goes to ``failure_reason`` (for FAILED, or a retry's
    cause). Because :class:`Order` is version-checked, recording on a copy that another
    session has changed meanwhile raises ``StaleDataError`` at flush.
    """
    when = at or utc_now()
    order.state = OrderState(to_state)
    column = TRANSITION_TIMESTAMPS.get(order.state)
    if column is not None:
        setattr(order, column, when)
    if reason is not None:
        order.failure_reason = reason
    if broker_order_id is not None:
        order.broker_order_id = broker_order_id
    if retry_count is not None:
        order.retry_count = retry_count
    order.updated_at = when
    session.flush()
    return order


@dataclass(frozen=True, slots=True)
class Latencies:
    """Per-stage latencies of one order, in milliseconds (None when not measured)."""

    decision_to_send_ms: float | None = None
    send_to_ack_ms: float | None = None
    expiry_to_settlement_ms: float | None = None


def record_result(
    session: Session,
    order: Order,
    *,
    outcome: Outcome,
    pnl: float,
    entry_price: float | None = None,
    exit_price: float | None = None,
    opened_at: datetime | None = None,
    expires_at: datetime | None = None,
    settled_at: datetime | None = None,
    latencies: Latencies | None = None,
    reason: str | None = None,
) -> Result:
    """Store how ``order`` ended (one result per order; a second one is an error)."""
    measured = latencies or Latencies()
    result = Result(
        order_id=order.id,
        outcome=Outcome(outcome),
        pnl=pnl,
        entry_price=entry_price,
        exit_price=exit_price,
        opened_at=opened_at,
        expires_at=expires_at,
        settled_at=settled_at or utc_now(),
        latency_decision_to_send_ms=measured.decision_to_send_ms,
        latency_send_to_ack_ms=measured.send_to_ack_ms,
        latency_expiry_to_settlement_ms=measured.expiry_to_settlement_ms,
        reason=reason,
    )
    session.add(result)
    session.flush()
    return result


def record_features(
    session: Session,
    order: Order,
    *,
    indicators: Mapping[str, Any],
    signals: Mapping[str, Any],
    extras: Mapping[str, Any] | None = None,
) -> Feature:
    """Store what the decision saw (JSON-serialisable values; NaN becomes null)."""
    feature = Feature(
        order_id=order.id,
        indicators=dict(indicators),
        signals=dict(signals),
        extras=dict(extras or {}),
    )
    session.add(feature)
    session.flush()
    return feature
