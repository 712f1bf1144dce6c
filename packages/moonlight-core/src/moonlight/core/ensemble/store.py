"""Calibrations in storage: read the decided (S, outcome) pairs, save and load fits.

Fits go to the ``calibrations`` table with the data range they were fitted on and
their in-sample reliability figures (``metrics``); rows are never updated -- a refit
adds new rows, and the newest row per (instrument, timeframe) is the one in force
(instrument and timeframe NULL mark the global fit). The functions only flush; the
caller commits.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from moonlight.core.ensemble.book import CalibrationBook, ScoredOutcomes, up_from_trades
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.orders import Direction
from moonlight.core.storage import models


def stored_outcomes(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    run_id: str | None = None,
    exclude: Collection[str] = (),
) -> ScoredOutcomes:
    """Every settled order with a score, as decided (S, up/down) pairs.

    Orders without a score, and pushes and aborts, are left out. ``since``/``until``
    bound the order creation time; ``run_id`` restricts to one run (a backtest);
    ``exclude`` names orders to leave out (their decisions are counted already).
    """
    statement = (
        select(
            models.Order.score,
            models.Order.direction,
            models.Result.outcome,
            models.Order.instrument,
            models.Order.timeframe,
            models.Order.created_at,
            models.Order.client_req_id,
        )
        .join(models.Result, models.Result.order_id == models.Order.id)
        .where(models.Order.score.is_not(None))
        .order_by(models.Order.created_at, models.Order.id)
    )
    if since is not None:
        statement = statement.where(models.Order.created_at >= since)
    if until is not None:
        statement = statement.where(models.Order.created_at <= until)
    if run_id is not None:
        statement = statement.where(models.Order.run_id == run_id)
    rows = [r for r in session.execute(statement).all() if r.client_req_id not in exclude]
    signs = [1 if row.direction == Direction.UP else -1 for row in rows]
    kept, up = up_from_trades(signs, [str(row.outcome) for row in rows])
    kept_rows = [row for row, keep in zip(rows, kept, strict=True) if keep]
    return ScoredOutcomes.build(
        np.array([row.score for row in kept_rows], np.float64),
        up,
        instrument=[row.instrument for row in kept_rows],
        timeframe=[row.timeframe for row in kept_rows],
        at=np.array([_naive_utc(row.created_at) for row in kept_rows], "datetime64[us]"),
    )


def shadow_outcomes(session: Session) -> tuple[ScoredOutcomes, set[str]]:
    """The decided shadow outcomes of every decision outside backtest runs, as (S, up)
    pairs (S = 0 and pushes left out), and the order ids those decisions traded."""
    table = models.Decision
    backtests = select(models.Run.id).where(models.Run.kind == models.RunKind.BACKTEST)
    rows = session.execute(
        select(
            table.score,
            table.outcome,
            table.instrument,
            table.timeframe,
            table.expires_at,
            table.client_req_id,
        )
        .where(or_(table.run_id.is_(None), table.run_id.not_in(backtests)))
        .order_by(table.decided_at, table.id)
    ).all()
    traded = {row.client_req_id for row in rows if row.client_req_id}
    kept = [r for r in rows if r.outcome in ("up", "down") and r.score != 0.0]
    pairs = ScoredOutcomes.build(
        np.array([r.score for r in kept], np.float64),
        np.array([r.outcome == "up" for r in kept], np.int8),
        instrument=[r.instrument for r in kept],
        timeframe=[r.timeframe for r in kept],
        at=np.array([_naive_utc(r.expires_at) for r in kept], "datetime64[us]"),
    )
    return pairs, traded


def _naive_utc(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "us")


def calibration_row(fit: Calibration, *, run_id: str | None = None) -> models.Calibration:
    """The ``calibrations`` row of one fit (``run_id``: the run whose refit made it)."""
    return models.Calibration(
        instrument=fit.instrument,
        timeframe=fit.timeframe,
        a=fit.a,
        b=fit.b,
        n_samples=fit.n_samples,
        data_from=fit.data_from,
        data_to=fit.data_to,
        metrics=dict(fit.metrics),
        run_id=run_id,
    )


def save_book(session: Session, book: CalibrationBook) -> list[models.Calibration]:
    """Insert one row per fit of ``book`` (global: instrument/timeframe NULL)."""
    rows = [calibration_row(fit) for fit in book.all_fits()]
    session.add_all(rows)
    session.flush()
    return rows


def load_book(session: Session, *, min_samples: int) -> CalibrationBook:
    """The newest fit per (instrument, timeframe) and the newest global fit.

    Fits refitted inside a backtest run are not in force for trading (they describe a
    replayed past, stored in the same database only when the backtest was pointed at it).
    """
    backtests = select(models.Run.id).where(models.Run.kind == models.RunKind.BACKTEST)
    rows = session.scalars(
        select(models.Calibration)
        .where(
            or_(models.Calibration.run_id.is_(None), models.Calibration.run_id.not_in(backtests))
        )
        .order_by(models.Calibration.created_at, models.Calibration.id)
    ).all()
    newest: dict[tuple[str | None, str | None], models.Calibration] = {}
    for row in rows:
        newest[(row.instrument, row.timeframe)] = row
    global_row = newest.pop((None, None), None)
    fits = {
        (instrument, timeframe or ""): _from_row(row)
        for (instrument, timeframe), row in newest.items()
        if instrument is not None
    }
    return CalibrationBook(
        fits, _from_row(global_row) if global_row else None, min_samples=min_samples
    )


def _from_row(row: models.Calibration) -> Calibration:
    return Calibration(
        a=row.a,
        b=row.b,
        n_samples=row.n_samples,
        fitted=True,
        instrument=row.instrument,
        timeframe=row.timeframe,
        data_from=row.data_from,
        data_to=row.data_to,
        metrics={k: float(v) for k, v in (row.metrics or {}).items()},
    )
