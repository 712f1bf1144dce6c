"""The status report: the engine's snapshot (:class:`EngineStatus`) as API models.

The snapshot is taken on the engine's loop in one synchronous step by
:class:`~moonlight.core.runtime.control.EngineControl` (tens of microseconds of Python
even with hundreds of workers); turning it into the response happens here, on the
API's own loop.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from moonlight.core import __version__ as core_version
from moonlight.core.runtime.control_views import (
    AccountView,
    EngagementView,
    EngineStatus,
    KillSwitchView,
    RestrictionView,
    WorkerView,
)
from moonlight.server import schemas


@functools.cache
def server_version() -> str:
    """The installed moonlight-server version (the core's when run from a source tree)."""
    try:
        return version("moonlight-server")
    except PackageNotFoundError:
        return core_version


def _time(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def engagement(found: EngagementView) -> schemas.Engagement:
    return schemas.Engagement(reason=found.reason, by=found.by, at=_time(found.at_ts))


def kill_switch_state(view: KillSwitchView) -> schemas.KillSwitchState:
    """The global switch and the engaged switch of every configured account."""
    engaged = view.global_engagement
    return schemas.KillSwitchState(
        global_engagement=engagement(engaged) if engaged is not None else None,
        accounts={key: engagement(found) for key, found in view.accounts.items()},
    )


def restriction(view: RestrictionView) -> schemas.Restriction:
    return schemas.Restriction(
        guard=view.guard,
        effect=view.effect,
        reason=view.reason,
        scope=view.scope,
        scope_key=view.scope_key,
        until=_time(view.until_ts) if view.until_ts is not None else None,
        detail=view.detail,
    )


def circuit_phase(restrictions: list[schemas.Restriction]) -> str:
    """OPEN / HALF_OPEN from the circuit breaker's restriction; CLOSED without one."""
    for item in restrictions:
        if item.guard == "circuit_breaker":
            return "OPEN" if item.reason == "circuit_open" else "HALF_OPEN"
    return "CLOSED"


def account_status(view: AccountView) -> schemas.AccountStatus:
    restrictions = [restriction(r) for r in view.restrictions]
    return schemas.AccountStatus(
        id=view.id,
        mode=view.mode,
        currency=view.currency,
        balance=view.balance,
        trading_state=view.trading_state,
        restrictions=restrictions,
        connector=schemas.ConnectorHealth(
            connector=view.connector,
            trading_allowed=view.trading_allowed,
            halted_reason=view.halted_reason,
            storage_healthy=view.storage_healthy,
            circuit=circuit_phase(restrictions),
            instruments=view.instruments,
            instruments_age_s=view.instruments_age_s,
        ),
        orders_submitted=view.orders_submitted,
        workers=dict(view.workers),
    )


def build_status(view: EngineStatus, lifecycle: str) -> schemas.StatusOut:
    """The whole status report; ``lifecycle`` is the service's view of the engine."""
    started = view.started_ts
    engine_state = lifecycle if started is not None or lifecycle != "running" else "starting"
    return schemas.StatusOut(
        version=server_version(),
        engine=schemas.EngineInfo(
            state=engine_state,
            started_at=_time(started) if started is not None else None,
            uptime_s=view.clock_ts - started if started is not None else None,
            clock_time=_time(view.clock_ts),
            simulated_clock=view.simulated_clock,
        ),
        kill_switch=kill_switch_state(view.kill_switch),
        accounts=[account_status(account) for account in view.accounts],
        workers=schemas.WorkerSummary(
            total=view.workers_total, by_state=dict(view.workers_by_state)
        ),
        guards=list(view.guards),
        halted_accounts=[
            schemas.AccountHalt(
                account_id=halt.account_id,
                code=halt.code,
                reason=halt.reason,
                since=_time(halt.since_ts),
            )
            for halt in view.halted_accounts
        ],
    )


def worker_out(view: WorkerView) -> schemas.WorkerOut:
    return schemas.WorkerOut(
        label=view.label,
        account_id=view.account_id,
        instrument=view.instrument,
        timeframe=view.timeframe,
        state=view.state,
        paused=view.paused,
        bars_seen=view.bars_seen,
        decisions=view.decisions,
        stale_bars=view.stale_bars,
        failures=view.failures,
        last_bar_end=_time(view.last_bar_end_ts) if view.last_bar_end_ts else None,
    )
