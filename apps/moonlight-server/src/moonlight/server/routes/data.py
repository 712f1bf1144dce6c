"""Orders, results, features, alarms, metric summaries and CSV exports (storage reads).

The handlers are plain functions: FastAPI runs them in the API's thread pool, on a
read-only session from :meth:`EngineControl.read_session`, so queries never run on the
engine's event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from moonlight.core.storage.errors import translate_storage_errors
from moonlight.server import queries, schemas
from moonlight.server.context import ServerContext
from moonlight.server.csv_export import csv_lines
from moonlight.server.deps import Ctx, as_utc, date_time_text, require_auth
from moonlight.server.routes.errors import AUTH_ERRORS, NOT_FOUND
from moonlight.server.schemas import NAME

router = APIRouter(dependencies=[Depends(require_auth)], responses=AUTH_ERRORS)

StateName = Literal["IDLE", "PREPARE", "SEND", "CONFIRM", "SETTLED", "FAILED"]
OutcomeName = Literal["win", "lose", "push", "abort"]
LevelName = Literal["critical", "warning", "info"]
MAX_OFFSET = 1_000_000_000


async def order_filter(
    account: Annotated[str | None, Query(max_length=64, pattern=NAME)] = None,
    instrument: Annotated[str | None, Query(max_length=64, pattern=NAME)] = None,
    timeframe: Annotated[str | None, Query(max_length=16, pattern=NAME)] = None,
    state: Annotated[StateName | None, Query(description="Order state.")] = None,
    outcome: Annotated[OutcomeName | None, Query(description="Result outcome.")] = None,
    since: Annotated[
        datetime | None, BeforeValidator(date_time_text), Query(description="From (inclusive).")
    ] = None,
    until: Annotated[
        datetime | None, BeforeValidator(date_time_text), Query(description="Before this time.")
    ] = None,
) -> queries.OrderFilter:
    """Shared filters; orders filter on creation time, results on settlement time."""
    return queries.OrderFilter(
        account=account,
        instrument=instrument,
        timeframe=timeframe,
        state=state,
        outcome=outcome,
        since=as_utc(since, "since"),
        until=as_utc(until, "until"),
    )


Filters = Annotated[queries.OrderFilter, Depends(order_filter)]
Limit = Annotated[
    int, Query(ge=1, le=100_000, description="Page size (capped by plugins.server.max_page_size).")
]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
ClientReqId = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME)]


def _page(context: ServerContext, limit: int) -> int:
    return min(limit, context.settings.max_page_size)


@router.get("/orders", response_model=schemas.Page[schemas.OrderOut], tags=["orders"])
def orders(
    filters: Filters,
    context: Ctx,
    limit: Limit = 100,
    offset: Offset = 0,
    open_first: Annotated[
        bool, Query(description="Open orders (not settled or failed) before the others.")
    ] = False,
) -> schemas.Page[schemas.OrderOut]:
    """Orders, newest first, with their outcome once settled."""
    with translate_storage_errors(), context.control.read_session() as session:
        return queries.list_orders(
            session, filters, limit=_page(context, limit), offset=offset, open_first=open_first
        )


def _stream(lines: Iterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


CSV_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV file."}
}


@router.get("/orders/export.csv", response_class=StreamingResponse, responses=CSV_RESPONSE,
            tags=["orders"])  # fmt: skip
def orders_csv(
    filters: Filters,
    context: Ctx,
) -> StreamingResponse:
    """Every matching order as CSV, oldest first (streamed)."""

    def lines() -> Iterator[str]:
        with context.control.read_session() as session:
            yield from csv_lines(schemas.OrderOut, queries.iter_orders(session, filters))

    return _stream(lines(), "orders.csv")


@router.get("/orders/{client_req_id}", response_model=schemas.OrderOut, responses=NOT_FOUND,
            tags=["orders"])  # fmt: skip
def order(client_req_id: ClientReqId, context: Ctx) -> schemas.OrderOut:
    """One order by its client request id."""
    with translate_storage_errors(), context.control.read_session() as session:
        found = queries.get_order(session, client_req_id)
    if found is None:
        raise HTTPException(404, "no such order")
    return found


@router.get("/orders/{client_req_id}/features", response_model=schemas.FeaturesOut,
            responses=NOT_FOUND, tags=["orders"])  # fmt: skip
def order_features(client_req_id: ClientReqId, context: Ctx) -> schemas.FeaturesOut:
    """Indicator values and strategy signals the order was decided on."""
    with translate_storage_errors(), context.control.read_session() as session:
        found = queries.get_features(session, client_req_id)
    if found is None:
        raise HTTPException(404, "no such order")
    return found


@router.get("/results", response_model=schemas.Page[schemas.ResultOut], tags=["results"])
def results(
    filters: Filters,
    context: Ctx,
    limit: Limit = 100,
    offset: Offset = 0,
) -> schemas.Page[schemas.ResultOut]:
    """Results (settled orders), newest first, with prices and stage latencies."""
    with translate_storage_errors(), context.control.read_session() as session:
        return queries.list_results(session, filters, limit=_page(context, limit), offset=offset)


@router.get("/results/export.csv", response_class=StreamingResponse, responses=CSV_RESPONSE,
            tags=["results"])  # fmt: skip
def results_csv(
    filters: Filters,
    context: Ctx,
) -> StreamingResponse:
    """Every matching result as CSV, oldest first (streamed)."""

    def lines() -> Iterator[str]:
        with context.control.read_session() as session:
            yield from csv_lines(schemas.ResultOut, queries.iter_results(session, filters))

    return _stream(lines(), "results.csv")


@router.get("/alarms", response_model=schemas.Page[schemas.AlarmOut], tags=["alarms"])
def alarms(
    context: Ctx,
    level: LevelName | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> schemas.Page[schemas.AlarmOut]:
    """Stored alarms, newest first."""
    with translate_storage_errors(), context.control.read_session() as session:
        return queries.list_alarms(session, level=level, limit=_page(context, limit), offset=offset)


@router.get("/metrics/summary", response_model=schemas.MetricsSummary, tags=["metrics"])
async def metrics_summary(
    filters: Filters,
    context: Ctx,
) -> schemas.MetricsSummary:
    """P&L by UTC day, account and instrument; win rates; order latency percentiles."""
    rejects = await context.control.guard_rejects()
    return await run_in_threadpool(_summary, context, filters, rejects)


def _summary(
    context: ServerContext, filters: queries.OrderFilter, rejects: dict[str, float]
) -> schemas.MetricsSummary:
    with translate_storage_errors(), context.control.read_session() as session:
        return queries.metrics_summary(session, filters, rejects)


@router.get("/calibration", response_model=schemas.CalibrationOut, tags=["metrics"])
def calibration(
    filters: Filters,
    context: Ctx,
    bins: Annotated[int, Query(ge=2, le=50, description="Equal-width p̂ bins.")] = 10,
) -> schemas.CalibrationOut:
    """Reliability of p̂ per instrument: ECE, Brier and the reliability-diagram bins,
    from settled orders (wins and losses; the newest 20,000)."""
    with translate_storage_errors(), context.control.read_session() as session:
        return queries.calibration(session, filters, bins=bins)
