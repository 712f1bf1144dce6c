"""Status, workers, kill switch, resuming trading, and the Prometheus exposition.

Every handler goes through :class:`~moonlight.core.runtime.control.EngineControl`:
reads are snapshots taken on the engine's loop, commands run there.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from moonlight.core.runtime.control import CommandRefused
from moonlight.core.telemetry.metrics import CONTENT_TYPE
from moonlight.server import schemas
from moonlight.server.deps import Ctx, invalid, require_auth
from moonlight.server.routes.errors import AUTH_ERRORS, CONFLICT, NOT_FOUND
from moonlight.server.schemas import NAME
from moonlight.server.status import build_status, kill_switch_state, worker_out

router = APIRouter(dependencies=[Depends(require_auth)], responses=AUTH_ERRORS)

WorkerStateName = Literal["starting", "running", "paused", "backoff", "stopped"]


@router.get("/status", response_model=schemas.StatusOut, tags=["status"])
async def status(context: Ctx) -> Response:
    """Engine, accounts (trading state, balance, guards, connector), workers, kill-switch.

    ``trading_state`` and ``connector.trading_allowed`` derive from the same
    restrictions (the guards' and the executor's own halt): HALTED exactly when trading
    is not allowed. The hot route of dashboards and supervisors: the model is
    serialised once here (FastAPI would validate it a second time on the way out).
    """
    report = build_status(await context.control.status(), context.lifecycle)
    return Response(report.model_dump_json(), media_type="application/json")


# ------------------------------------------------------------------------ workers


@router.get("/workers", response_model=list[schemas.WorkerOut], tags=["workers"])
async def workers(
    context: Ctx,
    account: Annotated[str | None, Query(max_length=64, pattern=NAME)] = None,
    state: WorkerStateName | None = None,
) -> list[schemas.WorkerOut]:
    """Every worker (account × instrument × timeframe), optionally filtered."""
    return [
        worker_out(worker)
        for worker in await context.control.workers()
        if (account is None or worker.account_id == account)
        and (state is None or worker.state == state)
    ]


async def _change_workers(
    context: Ctx, selection: schemas.WorkerSelection, *, pause: bool
) -> schemas.WorkerChange:
    outcome = await context.control.set_workers_paused(
        pause,
        labels=selection.labels,
        accounts=selection.accounts,
        everything=selection.all,
        operator=selection.operator,
    )
    return schemas.WorkerChange(changed=list(outcome.changed), unknown=list(outcome.unknown))


@router.post("/workers/pause", response_model=schemas.WorkerChange, tags=["workers"])
async def pause_workers(selection: schemas.WorkerSelection, context: Ctx) -> schemas.WorkerChange:
    """Pause one or many workers: they keep reading bars but stop deciding (audited)."""
    return await _change_workers(context, selection, pause=True)


@router.post("/workers/resume", response_model=schemas.WorkerChange, tags=["workers"])
async def resume_workers(selection: schemas.WorkerSelection, context: Ctx) -> schemas.WorkerChange:
    """Resume paused workers (audited)."""
    return await _change_workers(context, selection, pause=False)


# -------------------------------------------------------------------- kill-switch


@router.get("/kill-switch", response_model=schemas.KillSwitchState, tags=["kill-switch"])
async def kill_switch(context: Ctx) -> schemas.KillSwitchState:
    """The global kill-switch and every engaged account switch."""
    return kill_switch_state(await context.control.kill_switch())


@router.post(
    "/kill-switch/engage",
    response_model=schemas.KillSwitchChange,
    responses=NOT_FOUND,
    tags=["kill-switch"],
)
async def engage_kill_switch(
    body: schemas.KillSwitchEngage, context: Ctx
) -> schemas.KillSwitchChange:
    """Stop all trading (or one account's) now; persisted, audited, survives restarts.

    Decisions are refused from the next one on; orders already in flight run to their
    end. Only :func:`re_arm_kill_switch` with a person's name lifts it.
    """
    control = context.control
    changed = await control.engage_kill_switch(
        body.account_id, operator=body.operator, reason=body.reason
    )
    return schemas.KillSwitchChange(
        changed=changed, kill_switch=kill_switch_state(await control.kill_switch())
    )


@router.post(
    "/kill-switch/re-arm",
    response_model=schemas.KillSwitchChange,
    responses=NOT_FOUND,
    tags=["kill-switch"],
)
async def re_arm_kill_switch(
    body: schemas.KillSwitchReArm, context: Ctx
) -> schemas.KillSwitchChange:
    """Lift the global kill-switch (or one account's); ``operator`` must name a person."""
    control = context.control
    try:
        changed = await control.re_arm_kill_switch(body.account_id, operator=body.operator)
    except CommandRefused as error:
        raise invalid("body", "operator", str(error)) from None
    return schemas.KillSwitchChange(
        changed=changed, kill_switch=kill_switch_state(await control.kill_switch())
    )


# ------------------------------------------------------------------------ trading


@router.post(
    "/trading/resume",
    response_model=schemas.TradingResumeOut,
    responses={**NOT_FOUND, **CONFLICT},
    tags=["trading"],
)
async def resume_trading(body: schemas.TradingResume, context: Ctx) -> schemas.TradingResumeOut:
    """Let halted accounts trade again after a storage fault (audited, alarmed).

    A storage fault halts an account's executor until an operator decides it is safe
    to trade again; this is that decision (``account_id`` null: every account). 409
    when the cause persists — storage still failing, start-up not finished. The kill
    switch is separate: it is lifted only by re-arming it.
    """
    try:
        outcome = await context.control.resume_trading(body.account_id, operator=body.operator)
    except CommandRefused as error:
        raise HTTPException(409, str(error)) from None
    return schemas.TradingResumeOut(resumed=list(outcome.resumed), refused=dict(outcome.refused))


# ------------------------------------------------------------------------ metrics


metrics_router = APIRouter(dependencies=[Depends(require_auth)], responses=AUTH_ERRORS)


@metrics_router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
    tags=["metrics"],
)
async def prometheus(context: Ctx) -> Response:
    """Prometheus text exposition of the engine's metrics (bearer token required)."""
    return Response(content=context.control.metrics_text(), media_type=CONTENT_TYPE)
