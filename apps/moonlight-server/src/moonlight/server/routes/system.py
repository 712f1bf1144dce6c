"""Status, workers, kill-switch and the Prometheus exposition."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from moonlight.core.risk.guards.kill_switch import ReArmRefused
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.repository import record_audit
from moonlight.core.telemetry.alarms import AlarmCode
from moonlight.core.telemetry.metrics import CONTENT_TYPE
from moonlight.server import schemas
from moonlight.server.context import ServerContext
from moonlight.server.deps import Ctx, invalid, require_auth
from moonlight.server.routes.errors import AUTH_ERRORS, NOT_FOUND
from moonlight.server.schemas import NAME
from moonlight.server.status import build_status, kill_switch_state, worker_out

router = APIRouter(dependencies=[Depends(require_auth)], responses=AUTH_ERRORS)

WorkerStateName = Literal["starting", "running", "paused", "backoff", "stopped"]


@router.get("/status", response_model=schemas.StatusOut, tags=["status"])
async def status(context: Ctx) -> Response:
    """Engine, accounts (trading state, balance, guards, connector), workers, kill-switch.

    The hot route of dashboards and supervisors: the model is serialised once here
    (FastAPI would validate it a second time on the way out).
    """
    report = build_status(context.engine, context.lifecycle)
    return Response(report.model_dump_json(), media_type="application/json")


# ------------------------------------------------------------------------ workers


@router.get("/workers", response_model=list[schemas.WorkerOut], tags=["workers"])
async def workers(
    context: Ctx,
    account: Annotated[str | None, Query(max_length=64, pattern=NAME)] = None,
    state: WorkerStateName | None = None,
) -> list[schemas.WorkerOut]:
    """Every worker (account × instrument × timeframe), optionally filtered."""
    engine = context.engine
    return [
        worker_out(engine, worker)
        for worker in engine.supervisor.workers.values()
        if (account is None or worker.key.account_id == account)
        and (state is None or worker.state.value == state)
    ]


def _select(
    context: ServerContext, selection: schemas.WorkerSelection
) -> tuple[list[str], list[str]]:
    workers = context.engine.supervisor.workers
    if selection.all:
        return list(workers), []
    chosen = [label for label in selection.labels if label in workers]
    unknown = [label for label in selection.labels if label not in workers]
    accounts = set(selection.accounts)
    known_accounts = {w.key.account_id for w in workers.values()}
    unknown += sorted(accounts - known_accounts)
    chosen += [label for label, w in workers.items() if w.key.account_id in accounts]
    return list(dict.fromkeys(chosen)), unknown


def _change_workers(
    context: ServerContext, selection: schemas.WorkerSelection, *, pause: bool
) -> schemas.WorkerChange:
    labels, unknown = _select(context, selection)
    supervisor = context.engine.supervisor
    changed = supervisor.pause(labels) if pause else supervisor.resume(labels)
    if changed:
        with (
            translate_storage_errors(),
            context.engine.sessions() as session,
            session.begin(),
        ):
            record_audit(
                session,
                actor=selection.operator,
                action="workers.pause" if pause else "workers.resume",
                detail={"labels": changed},
            )
    return schemas.WorkerChange(changed=changed, unknown=unknown)


@router.post("/workers/pause", response_model=schemas.WorkerChange, tags=["workers"])
async def pause_workers(selection: schemas.WorkerSelection, context: Ctx) -> schemas.WorkerChange:
    """Pause one or many workers: they keep reading bars but stop deciding (audited)."""
    return _change_workers(context, selection, pause=True)


@router.post("/workers/resume", response_model=schemas.WorkerChange, tags=["workers"])
async def resume_workers(selection: schemas.WorkerSelection, context: Ctx) -> schemas.WorkerChange:
    """Resume paused workers (audited)."""
    return _change_workers(context, selection, pause=False)


# -------------------------------------------------------------------- kill-switch


def _known_account(context: ServerContext, account_id: str | None) -> None:
    if account_id is not None and account_id not in {a.id for a in context.engine.config.accounts}:
        raise HTTPException(404, f"unknown account {account_id!r}")


@router.get("/kill-switch", response_model=schemas.KillSwitchState, tags=["kill-switch"])
async def kill_switch(context: Ctx) -> schemas.KillSwitchState:
    """The global kill-switch and every engaged account switch."""
    return kill_switch_state(context.engine)


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
    _known_account(context, body.account_id)
    engine = context.engine
    with translate_storage_errors():
        changed = engine.risk.kill_switch.engage(
            body.account_id, by=body.operator.strip(), reason=body.reason
        )
    if changed:
        where = "globally" if body.account_id is None else f"for account {body.account_id}"
        engine.alarms.raise_catalogued(
            AlarmCode.KILL_SWITCH,
            f"kill-switch engaged {where} by {body.operator.strip()}: {body.reason}",
            scope=body.account_id or "global",
        )
    return schemas.KillSwitchChange(changed=changed, kill_switch=kill_switch_state(engine))


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
    _known_account(context, body.account_id)
    engine = context.engine
    try:
        with translate_storage_errors():
            changed = engine.risk.kill_switch.re_arm(body.account_id, operator=body.operator)
    except ReArmRefused as error:
        raise invalid("body", "operator", str(error)) from None
    if changed:
        where = "global" if body.account_id is None else f"account {body.account_id}"
        engine.alarms.raise_alarm(
            "warning",
            "kill_switch_re_armed",
            f"{where} kill-switch re-armed by {body.operator.strip()}",
            scope=body.account_id or "global",
        )
    return schemas.KillSwitchChange(changed=changed, kill_switch=kill_switch_state(engine))


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
    return Response(content=context.engine.metrics.render(), media_type=CONTENT_TYPE)
