"""Read-only queries behind the orders, results, features, alarms and summary routes.

Each function takes a :class:`~sqlalchemy.orm.Session` and plain filter values and
returns API models. The routes run them in a worker thread, so a large page or a CSV
export never blocks the engine's event loop.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Date, Select, case, cast, func, select
from sqlalchemy.orm import Session

from moonlight.core.ensemble.reliability import reliability_report
from moonlight.core.storage.models import Alarm, Feature, Order, Result
from moonlight.server import schemas

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])

LATENCY_SAMPLE_MAX = 20_000
"""Newest results used for latency percentiles (enough for a stable p99)."""


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Filters shared by the orders and results listings (None: no filter)."""

    account: str | None = None
    instrument: str | None = None
    timeframe: str | None = None
    state: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, statement: SelectT, time_column: Any) -> SelectT:
        if self.account is not None:
            statement = statement.where(Order.account_id == self.account)
        if self.instrument is not None:
            statement = statement.where(Order.instrument == self.instrument)
        if self.timeframe is not None:
            statement = statement.where(Order.timeframe == self.timeframe)
        if self.state is not None:
            statement = statement.where(Order.state == self.state)
        if self.outcome is not None:
            statement = statement.where(Result.outcome == self.outcome)
        if self.since is not None:
            statement = statement.where(time_column >= self.since)
        if self.until is not None:
            statement = statement.where(time_column < self.until)
        return statement


# ------------------------------------------------------------------------- orders


def _order_out(order: Order, result: Result | None) -> schemas.OrderOut:
    return schemas.OrderOut(
        id=order.id,
        client_req_id=order.client_req_id,
        account_id=order.account_id,
        instrument=order.instrument,
        timeframe=order.timeframe,
        direction=order.direction.value,
        stake=order.stake,
        currency=order.currency,
        duration_s=order.duration_s,
        payout_pct=order.payout_pct,
        score=order.score,
        p_hat=order.p_hat,
        state=order.state.value,
        created_at=order.created_at,
        prepared_at=order.prepared_at,
        sent_at=order.sent_at,
        confirmed_at=order.confirmed_at,
        settled_at=order.settled_at,
        failed_at=order.failed_at,
        failure_reason=order.failure_reason,
        broker_order_id=order.broker_order_id,
        retry_count=order.retry_count,
        run_id=order.run_id,
        outcome=result.outcome.value if result is not None else None,
        pnl=result.pnl if result is not None else None,
    )


OPEN_STATES = ("IDLE", "PREPARE", "SEND", "CONFIRM")
"""Orders not yet settled or failed (the ones an operator watches)."""


def _orders_statement(filters: OrderFilter) -> Select[Order, Result]:
    statement = select(Order, Result).outerjoin(Result, Result.order_id == Order.id)
    return filters.apply(statement, Order.created_at)


def list_orders(
    session: Session, filters: OrderFilter, *, limit: int, offset: int, open_first: bool = False
) -> schemas.Page[schemas.OrderOut]:
    """Newest orders first (open ones before the rest with ``open_first``), with outcomes."""
    statement = _orders_statement(filters)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    order_by: list[Any] = [Order.created_at.desc(), Order.id.desc()]
    if open_first:
        order_by.insert(0, case((Order.state.in_(OPEN_STATES), 0), else_=1))
    rows = session.execute(statement.order_by(*order_by).limit(limit).offset(offset)).all()
    items = [_order_out(order, result) for order, result in rows]
    return schemas.Page[schemas.OrderOut](items=items, total=total, limit=limit, offset=offset)


def iter_orders(session: Session, filters: OrderFilter) -> Iterator[schemas.OrderOut]:
    """Every matching order, oldest first, streamed in batches (CSV export)."""
    statement = _orders_statement(filters).order_by(Order.created_at, Order.id)
    for order, result in session.execute(statement.execution_options(yield_per=500)):
        yield _order_out(order, result)


def get_order(session: Session, client_req_id: str) -> schemas.OrderOut | None:
    row = session.execute(
        select(Order, Result)
        .outerjoin(Result, Result.order_id == Order.id)
        .where(Order.client_req_id == client_req_id)
    ).first()
    return None if row is None else _order_out(row[0], row[1])


def get_features(session: Session, client_req_id: str) -> schemas.FeaturesOut | None:
    """The features stored with an order; None when the order does not exist."""
    order = session.scalars(select(Order).where(Order.client_req_id == client_req_id)).first()
    if order is None:
        return None
    feature = session.scalars(select(Feature).where(Feature.order_id == order.id)).first()
    return schemas.FeaturesOut(
        client_req_id=client_req_id,
        indicators=dict(feature.indicators) if feature else {},
        signals=dict(feature.signals) if feature else {},
        extras=dict(feature.extras) if feature else {},
        strategy_snapshot=order.strategy_snapshot,
    )


# ------------------------------------------------------------------------ results


def _result_out(result: Result, order: Order) -> schemas.ResultOut:
    return schemas.ResultOut(
        order_id=order.id,
        client_req_id=order.client_req_id,
        account_id=order.account_id,
        instrument=order.instrument,
        timeframe=order.timeframe,
        direction=order.direction.value,
        stake=order.stake,
        outcome=result.outcome.value,
        pnl=result.pnl,
        entry_price=result.entry_price,
        exit_price=result.exit_price,
        opened_at=result.opened_at,
        expires_at=result.expires_at,
        settled_at=result.settled_at,
        latency_decision_to_send_ms=result.latency_decision_to_send_ms,
        latency_send_to_ack_ms=result.latency_send_to_ack_ms,
        latency_expiry_to_settlement_ms=result.latency_expiry_to_settlement_ms,
        reason=result.reason,
    )


def _results_statement(filters: OrderFilter) -> Select[Result, Order]:
    statement = select(Result, Order).join(Order, Result.order_id == Order.id)
    return filters.apply(statement, Result.settled_at)


def list_results(
    session: Session, filters: OrderFilter, *, limit: int, offset: int
) -> schemas.Page[schemas.ResultOut]:
    """Newest results first."""
    statement = _results_statement(filters)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.execute(
        statement.order_by(Result.settled_at.desc(), Result.id.desc()).limit(limit).offset(offset)
    ).all()
    items = [_result_out(result, order) for result, order in rows]
    return schemas.Page[schemas.ResultOut](items=items, total=total, limit=limit, offset=offset)


def iter_results(session: Session, filters: OrderFilter) -> Iterator[schemas.ResultOut]:
    statement = _results_statement(filters).order_by(Result.settled_at, Result.id)
    for result, order in session.execute(statement.execution_options(yield_per=500)):
        yield _result_out(result, order)


# ------------------------------------------------------------------------- alarms


def list_alarms(
    session: Session, *, level: str | None, limit: int, offset: int
) -> schemas.Page[schemas.AlarmOut]:
    statement = select(Alarm)
    if level is not None:
        statement = statement.where(Alarm.level == level)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(Alarm.ts.desc(), Alarm.id.desc()).limit(limit).offset(offset)
    ).all()
    items = [
        schemas.AlarmOut(
            id=a.id, ts=a.ts, level=a.level.value, code=a.code, message=a.message, scope=a.scope
        )
        for a in rows
    ]
    return schemas.Page[schemas.AlarmOut](items=items, total=total, limit=limit, offset=offset)


# ----------------------------------------------------------------- metrics summary


def _pnl_rows(session: Session, key: Any, filters: OrderFilter) -> list[schemas.PnlRow]:
    outcome = Result.outcome
    statement = (
        select(
            key.label("key"),
            func.count().label("orders"),
            func.sum(case((outcome == "win", 1), else_=0)).label("wins"),
            func.sum(case((outcome == "lose", 1), else_=0)).label("losses"),
            func.sum(case((outcome == "push", 1), else_=0)).label("pushes"),
            func.sum(case((outcome == "abort", 1), else_=0)).label("aborts"),
            func.coalesce(func.sum(Result.pnl), 0).label("pnl"),
        )
        .select_from(Result)
        .join(Order, Result.order_id == Order.id)
        .group_by(key)
        .order_by(key)
    )
    statement = filters.apply(statement, Result.settled_at)
    return [
        _pnl_row(str(row.key), row.orders, row.wins, row.losses, row.pushes, row.aborts, row.pnl)
        for row in session.execute(statement)
    ]


def _pnl_row(
    key: str, orders: Any, wins: Any, losses: Any, pushes: Any, aborts: Any, pnl: Any
) -> schemas.PnlRow:
    wins, losses = int(wins or 0), int(losses or 0)
    decided = wins + losses
    return schemas.PnlRow(
        key=key,
        orders=int(orders or 0),
        wins=wins,
        losses=losses,
        pushes=int(pushes or 0),
        aborts=int(aborts or 0),
        pnl=float(pnl or 0.0),
        win_rate=wins / decided if decided else None,
    )


def _day_key(session: Session) -> Any:
    """The UTC calendar day of ``settled_at`` on the session's backend."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(Result.settled_at)  # stored as UTC text: the UTC day
    return cast(func.timezone("UTC", Result.settled_at), Date)


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    rank = max(1, math.ceil(round(q * len(values), 9)))
    return values[min(len(values), rank) - 1]


def latency_stats(session: Session, filters: OrderFilter) -> dict[str, schemas.LatencyStats]:
    """p50/p90/p99/max per executor stage over the newest stored results."""
    columns = {
        "decision_to_send": Result.latency_decision_to_send_ms,
        "send_to_ack": Result.latency_send_to_ack_ms,
        "expiry_to_settlement": Result.latency_expiry_to_settlement_ms,
    }
    statement = filters.apply(
        select(*columns.values()).select_from(Result).join(Order, Result.order_id == Order.id),
        Result.settled_at,
    )
    rows = session.execute(
        statement.order_by(Result.settled_at.desc()).limit(LATENCY_SAMPLE_MAX)
    ).all()
    stats = {}
    for index, stage in enumerate(columns):
        values = sorted(float(value) for row in rows if (value := row[index]) is not None)
        stats[stage] = schemas.LatencyStats(
            count=len(values),
            p50_ms=_percentile(values, 0.50),
            p90_ms=_percentile(values, 0.90),
            p99_ms=_percentile(values, 0.99),
            max_ms=values[-1] if values else None,
        )
    return stats


def metrics_summary(
    session: Session, filters: OrderFilter, guard_rejects: dict[str, float]
) -> schemas.MetricsSummary:
    """P&L by day, account and instrument, win rates and latency percentiles."""
    by_account = _pnl_rows(session, Order.account_id, filters)
    total = _pnl_row(
        "total",
        sum(r.orders for r in by_account),
        sum(r.wins for r in by_account),
        sum(r.losses for r in by_account),
        sum(r.pushes for r in by_account),
        sum(r.aborts for r in by_account),
        sum(r.pnl for r in by_account),
    )
    return schemas.MetricsSummary(
        since=filters.since,
        until=filters.until,
        total=total,
        by_day=_pnl_rows(session, _day_key(session), filters),
        by_account=by_account,
        by_instrument=_pnl_rows(session, Order.instrument, filters),
        latency=latency_stats(session, filters),
        guard_rejects=guard_rejects,
    )


# -------------------------------------------------------------------- calibration

CALIBRATION_SAMPLE_MAX = 20_000
"""Newest settled orders used for the reliability figures."""


def _calibration_row(
    instrument: str, p_hat: list[float], won: list[int], bins: int
) -> schemas.CalibrationRow:
    report = reliability_report(p_hat, won, bins=bins)
    return schemas.CalibrationRow(
        instrument=instrument,
        samples=report.n_samples,
        base_rate=report.base_rate,
        brier=report.brier,
        ece=report.ece,
        bins=[
            schemas.ReliabilityBinOut(
                lower=row.lower,
                upper=row.upper,
                count=row.count,
                mean_predicted=row.mean_predicted,
                observed=row.observed,
            )
            for row in report.table
        ],
    )


def calibration(session: Session, filters: OrderFilter, *, bins: int) -> schemas.CalibrationOut:
    """p̂ against the outcome of settled orders (wins and losses), per instrument."""
    statement = filters.apply(
        select(Order.instrument, Order.p_hat, Result.outcome)
        .select_from(Result)
        .join(Order, Result.order_id == Order.id)
        .where(Order.p_hat.is_not(None), Result.outcome.in_(("win", "lose"))),
        Result.settled_at,
    )
    rows = session.execute(
        statement.order_by(Result.settled_at.desc()).limit(CALIBRATION_SAMPLE_MAX)
    ).all()
    grouped: dict[str, tuple[list[float], list[int]]] = {}
    for instrument, p_hat, outcome in rows:
        p_list, won = grouped.setdefault(instrument, ([], []))
        p_list.append(float(p_hat or 0.0))  # never None: filtered above
        won.append(1 if outcome.value == "win" else 0)
    every_p = [p for p_list, _ in grouped.values() for p in p_list]
    every_won = [w for _, won in grouped.values() for w in won]
    return schemas.CalibrationOut(
        bins=bins,
        overall=_calibration_row("all", every_p, every_won, bins) if every_p else None,
        instruments=[
            _calibration_row(name, p_list, won, bins)
            for name, (p_list, won) in sorted(grouped.items())
        ],
    )
