"""The status report, read from the running engine's objects (no storage access).

Everything here is in memory, so ``GET /status`` costs tens of microseconds of Python
even with hundreds of workers; that is what the p90 benchmark measures.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from moonlight.core import __version__ as core_version
from moonlight.core.risk.guards.kill_switch import Engagement as CoreEngagement
from moonlight.core.risk.trading_state import GuardStatus
from moonlight.core.runtime.clock import WallClock
from moonlight.core.runtime.engine import AccountRuntime, Engine
from moonlight.core.runtime.worker import Worker
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


def engagement(found: CoreEngagement | None) -> schemas.Engagement | None:
    if found is None:
        return None
    return schemas.Engagement(reason=found.reason, by=found.by, at=found.at)


def kill_switch_state(engine: Engine) -> schemas.KillSwitchState:
    """The global switch and the engaged switch of every configured account."""
    switch = engine.risk.kill_switch
    accounts = {}
    for account in engine.config.accounts:
        found = engagement(switch.engagement(account.id))
        if found is not None:
            accounts[account.id] = found
    return schemas.KillSwitchState(
        global_engagement=engagement(switch.engagement(None)), accounts=accounts
    )


def restriction(status: GuardStatus) -> schemas.Restriction:
    return schemas.Restriction(
        guard=status.guard,
        effect=status.effect.value,
        reason=status.reason.value,
        scope=status.scope.value,
        scope_key=status.scope_key,
        until=status.until,
        detail=status.detail,
    )


def circuit_phase(restrictions: list[schemas.Restriction]) -> str:
    """OPEN / HALF_OPEN from the circuit breaker's restriction; CLOSED without one."""
    for item in restrictions:
        if item.guard == "circuit_breaker":
            return "OPEN" if item.reason == "circuit_open" else "HALF_OPEN"
    return "CLOSED"


def account_status(
    engine: Engine, runtime: AccountRuntime, workers: Counter[str]
) -> schemas.AccountStatus:
    config = runtime.config
    trading = engine.risk.trading_state(config.id)
    restrictions = [restriction(s) for s in trading.restrictions]
    book = runtime.instruments
    age = engine.clock.now() - book.fetched_at if book.fetched_at > float("-inf") else None
    executor = runtime.executor
    return schemas.AccountStatus(
        id=config.id,
        mode=config.mode,
        currency=config.currency,
        balance=runtime.trader.balance,
        trading_state=trading.state.value,
        restrictions=restrictions,
        connector=schemas.ConnectorHealth(
            connector=config.connector,
            trading_allowed=executor.trading_allowed,
            halted_reason=executor.halted_reason,
            storage_healthy=executor.storage_healthy,
            circuit=circuit_phase(restrictions),
            instruments=len(book.all()),
            instruments_age_s=age,
        ),
        orders_submitted=runtime.trader.orders_submitted,
        workers=dict(workers),
    )


def build_status(engine: Engine, lifecycle: str) -> schemas.StatusOut:
    """The whole status report; ``lifecycle`` is the service's view of the engine."""
    now = engine.clock.now()
    per_account: dict[str, Counter[str]] = {account_id: Counter() for account_id in engine.accounts}
    by_state: Counter[str] = Counter()
    for worker in engine.supervisor.workers.values():
        state = worker.state  # a StrEnum: a str key as it is (no .value lookup per worker)
        by_state[state] += 1
        counts = per_account.get(worker.key.account_id)
        if counts is not None:
            counts[state] += 1
    started = engine.started_at
    engine_state = lifecycle if started is not None or lifecycle != "running" else "starting"
    return schemas.StatusOut(
        version=server_version(),
        engine=schemas.EngineInfo(
            state=engine_state,
            started_at=_time(started) if started is not None else None,
            uptime_s=now - started if started is not None else None,
            clock_time=_time(now),
            simulated_clock=not isinstance(engine.clock, WallClock),
        ),
        kill_switch=kill_switch_state(engine),
        accounts=[
            account_status(engine, runtime, per_account.get(account_id, Counter()))
            for account_id, runtime in engine.accounts.items()
        ],
        workers=schemas.WorkerSummary(total=sum(by_state.values()), by_state=dict(by_state)),
        guards=[guard.name for guard in engine.risk.guards],
    )


def worker_out(engine: Engine, worker: Worker) -> schemas.WorkerOut:
    key = worker.key
    return schemas.WorkerOut(
        label=key.label,
        account_id=key.account_id,
        instrument=key.instrument,
        timeframe=key.timeframe,
        state=worker.state.value,
        paused=worker.paused,
        bars_seen=worker.bars_seen,
        decisions=worker.decisions,
        stale_bars=worker.stale_bars,
        failures=engine.supervisor.failures.get(key.label, 0),
        last_bar_end=_time(worker.last_bar_end_ts) if worker.last_bar_end_ts else None,
    )


def metrics_snapshot(engine: Engine) -> dict[str, object]:
    """The periodic ``metrics`` WebSocket message: counters the dashboard charts."""
    metrics = engine.metrics
    accounts = {}
    for account_id, runtime in engine.accounts.items():
        outcomes = {
            outcome: metrics.value("orders_total", {"account": account_id, "outcome": outcome})
            or 0.0
            for outcome in ("win", "lose", "push", "abort")
        }
        accounts[account_id] = {
            "balance": runtime.trader.balance,
            "pnl_day": metrics.value("pnl_day", {"account": account_id}) or 0.0,
            "orders": outcomes,
            "trading_state": engine.risk.trading_state(account_id).state.value,
        }
    states: Counter[str] = Counter()
    decisions = 0
    for worker in engine.supervisor.workers.values():
        states[worker.state.value] += 1
        decisions += worker.decisions
    return {
        "clock_time": _time(engine.clock.now()).isoformat(),
        "accounts": accounts,
        "workers": dict(states),
        "decisions": decisions,
        "guard_rejects": {str(k): v for k, v in engine.risk.reject_counts.items()},
    }
