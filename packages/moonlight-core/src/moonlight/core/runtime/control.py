"""EngineControl: the one door between a running engine and whatever operates it.

The reference server (and any other operator front end) uses only this facade: status,
accounts, workers, pause/resume, the kill switch, resuming after an executor halt,
runtime overrides, and a read-only storage session for listings. It never touches the
engine's parts (supervisor, risk, executors, traders) itself, so the engine's insides
can change without the API noticing: **every reach into the engine lives in this
module**, and a test walks the server's source to keep it that way.

Threads. The engine runs on one asyncio loop; its objects are not thread-safe. The API
runs on a loop of its own, in another thread, so that nothing a client does (a large
body, a slow connection, a burst of requests) can stall a decision. The facade bridges
the two:

* **commands** (pause, kill switch, resume, alarms) are marshalled onto the engine's
  loop (``call_soon_threadsafe``) and run there between two steps of the engine, exactly
  as if the engine had made them; the caller awaits the result;
* **reads** (status, workers, kill switch, metric snapshot) are built on the engine's
  loop too, in one synchronous step, and handed back as frozen views
  (:mod:`~moonlight.core.runtime.control_views`): a consistent snapshot, never a live
  object another thread could see half-changed;
* **storage** (listings, the overrides) is read and written from the caller's thread
  through the engine's session factory (SQLAlchemy pools are thread-safe), so a large
  query never runs on the engine's loop.

Called on the engine's own loop (an in-process client, a test), everything runs
directly. A marshalled call waits at most ``timeout_s``; an engine that does not answer
in time (or has stopped) raises :class:`EngineBusy`, which the API answers 503 instead
of hanging.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.config.runtime_overrides import OverrideStore, StoredOverrides, leaf_paths
from moonlight.core.events import AlarmRaised
from moonlight.core.execution.executor import TradingHalted
from moonlight.core.risk.guards.base import SYSTEM_ACTOR
from moonlight.core.risk.guards.kill_switch import Engagement, ReArmRefused
from moonlight.core.risk.trading_state import GuardStatus, TradingEffect, TradingState
from moonlight.core.runtime.clock import WallClock
from moonlight.core.runtime.control_views import (
    EXECUTOR_GUARD,
    AccountView,
    EngagementView,
    EngineStatus,
    KillSwitchView,
    RestrictionView,
    ResumeOutcome,
    WorkerChange,
    WorkerView,
)
from moonlight.core.runtime.engine import AccountRuntime, Engine, EventListener
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.repository import record_audit
from moonlight.core.telemetry.alarms import AlarmCode

__all__ = [
    "API_TOKEN_FILE",
    "CommandRefused",
    "Engine",
    "EngineBusy",
    "EngineControl",
    "UnknownAccount",
]

T = TypeVar("T")

API_TOKEN_FILE = "api-token"
"""The API token of an engine's server lives in ``<data_dir>/api-token``."""

DEFAULT_TIMEOUT_S = 10.0
"""Longest wait for the engine's loop to run a marshalled call."""

RESUME_AUDIT_ACTION = "trading.resume"
RESUMED_ALARM = "trading_resumed"


class EngineBusy(TimeoutError):
    """The engine's loop did not run the call in time, or the engine has stopped."""


class UnknownAccount(LookupError):
    """The account id is not configured."""


class CommandRefused(PermissionError):
    """The command cannot be carried out as asked; the message says why."""


class EngineControl:
    """The operator's view of, and the commands into, one running engine."""

    def __init__(
        self,
        engine: Engine,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """Build on the engine's loop (the running loop, unless ``loop`` is given)."""
        self._engine = engine
        self._loop = loop or asyncio.get_running_loop()
        self.timeout_s = timeout_s
        self._overrides = OverrideStore(engine.sessions, engine.config, engine.host.registry)

    # ------------------------------------------------------------------ immutable facts

    @property
    def config(self) -> MoonlightConfig:
        """The configuration the engine runs with (frozen: safe from any thread)."""
        return self._engine.config

    @property
    def account_ids(self) -> tuple[str, ...]:
        """The accounts this engine runs (``runtime.accounts``), in configuration order."""
        return tuple(account.id for account in self._engine.config.owned_accounts())

    def read_session(self) -> Session:
        """A storage session for read-only listings, from any thread (close it after)."""
        return self._engine.sessions()

    def metrics_text(self) -> bytes:
        """The Prometheus exposition (the metrics registry is thread-safe)."""
        return self._engine.metrics.render()

    # ------------------------------------------------------------------ events

    def subscribe(self, listener: EventListener) -> None:
        """``listener(hook_name, event)`` for every order, result and alarm event.

        Called on the engine's loop: it must only hand the event over (e.g. to a queue
        or another loop's ``call_soon_threadsafe``), never block.
        """
        self._engine.subscribe(listener)

    def subscribe_alarms(self, listener: Callable[[AlarmRaised], None]) -> None:
        """``listener(alarm)`` for every alarm (the same rules as :meth:`subscribe`)."""
        self._engine.alarms.subscribe(listener)

    async def raise_alarm(self, level: str, code: str, message: str) -> None:
        """Raise an alarm as the engine would (stored, logged, sent to every listener)."""
        await self._on_engine(self._engine.alarms.raise_alarm, level, code, message)

    # ------------------------------------------------------------------ reads

    async def status(self) -> EngineStatus:
        """Engine, accounts, workers, kill switch and guards, as one snapshot."""
        return await self._on_engine(self._status)

    async def workers(self) -> tuple[WorkerView, ...]:
        """Every worker, in start order."""
        return await self._on_engine(self._workers)

    async def kill_switch(self) -> KillSwitchView:
        """The global kill switch and every engaged account switch."""
        return await self._on_engine(self._kill_switch)

    async def metrics_snapshot(self) -> dict[str, Any]:
        """The counters a dashboard charts (JSON-ready)."""
        return await self._on_engine(self._metrics_snapshot)

    async def guard_rejects(self) -> dict[str, float]:
        """Decisions refused so far, by guard reason."""
        return await self._on_engine(self._guard_rejects)

    # ------------------------------------------------------------------ commands

    async def set_workers_paused(
        self,
        paused: bool,
        *,
        labels: Collection[str] = (),
        accounts: Collection[str] = (),
        everything: bool = False,
        operator: str,
    ) -> WorkerChange:
        """Pause the selected workers (they keep reading bars, stop deciding) or let them
        decide again; audited (``workers.pause`` / ``workers.resume``)."""
        return await self._on_engine(
            self._change_workers, labels, accounts, everything, operator, paused
        )

    async def engage_kill_switch(
        self, account_id: str | None, *, operator: str, reason: str
    ) -> bool:
        """Stop all trading (or one account's) now; persisted, alarmed. False: already on."""
        return await self._on_engine(self._engage, account_id, operator, reason)

    async def re_arm_kill_switch(self, account_id: str | None, *, operator: str) -> bool:
        """Lift the global (or an account's) switch; only a person may. False: was off."""
        return await self._on_engine(self._re_arm, account_id, operator)

    async def resume_trading(self, account_id: str | None, *, operator: str) -> ResumeOutcome:
        """Let halted executors trade again (after a storage fault); audited, alarmed.

        Raises :class:`CommandRefused` when nothing could be resumed because the cause
        persists (storage still failing, start-up reconciliation unfinished).
        """
        return await self._on_engine(self._resume, account_id, operator)

    # ------------------------------------------------------------------ overrides

    def stored_overrides(self) -> StoredOverrides:
        """The persisted runtime overrides (storage access: call from a worker thread)."""
        return self._overrides.current()

    async def replace_overrides(
        self, overrides: Mapping[str, Any], *, operator: str
    ) -> StoredOverrides:
        """Validate as the whole next configuration, store, audit; then alarm.

        Validation and storage run in a worker thread; the ``config_change`` alarm on the
        engine's loop. :class:`~moonlight.core.config.ConfigError` lists every problem
        (nothing is stored then).
        """
        stored = await asyncio.to_thread(self._overrides.replace, overrides, operator=operator)
        keys = ", ".join(leaf_paths(overrides)) or "(cleared)"
        await self._on_engine(
            self._engine.alarms.raise_catalogued,
            AlarmCode.CONFIG_CHANGE,
            f"runtime overrides set by {operator} (apply at next start): {keys}",
        )
        return stored

    # ------------------------------------------------------------------ marshalling

    async def _on_engine(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the engine's loop; its result (or its exception).

        A storage fault inside becomes :class:`~moonlight.core.storage.errors.StorageUnavailable`.
        """
        if asyncio.get_running_loop() is self._loop:
            with translate_storage_errors():
                return function(*args)
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not done.set_running_or_notify_cancel():
                return  # the caller gave up waiting
            try:
                with translate_storage_errors():
                    done.set_result(function(*args))
            except BaseException as error:  # handed to the caller, who re-raises it
                done.set_exception(error)

        try:
            self._loop.call_soon_threadsafe(run)
        except RuntimeError:  # the engine's loop is closed
            raise EngineBusy("the engine has stopped") from None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(done), self.timeout_s)
        except TimeoutError:
            done.cancel()
            raise EngineBusy(f"the engine did not answer within {self.timeout_s:g} s") from None

    # ------------------------------------------------------------------ on the engine loop

    def _runtime(self, account_id: str) -> AccountRuntime:
        runtime = self._engine.accounts.get(account_id)
        if runtime is None:
            raise UnknownAccount(f"unknown account {account_id!r}")
        return runtime

    def _known(self, account_id: str | None) -> None:
        if account_id is not None and account_id not in self.account_ids:
            raise UnknownAccount(f"unknown account {account_id!r}")

    def _status(self) -> EngineStatus:
        engine = self._engine
        per_account: dict[str, Counter[str]] = {key: Counter() for key in engine.accounts}
        by_state: Counter[str] = Counter()
        for worker in engine.supervisor.workers.values():
            state = str(worker.state)
            by_state[state] += 1
            counts = per_account.get(worker.key.account_id)
            if counts is not None:
                counts[state] += 1
        return EngineStatus(
            started_ts=engine.started_at,
            clock_ts=engine.clock.now(),
            simulated_clock=not isinstance(engine.clock, WallClock),
            kill_switch=self._kill_switch(),
            accounts=tuple(
                self._account(runtime, per_account[account_id])
                for account_id, runtime in engine.accounts.items()
            ),
            workers_by_state=dict(by_state),
            guards=tuple(guard.name for guard in engine.risk.guards),
        )

    def _account(self, runtime: AccountRuntime, workers: Counter[str]) -> AccountView:
        config, executor = runtime.config, runtime.executor
        restrictions = self._restrictions(runtime)
        if any(r.effect == TradingEffect.HALT for r in restrictions):
            state = TradingState.HALTED
        elif restrictions:
            state = TradingState.REDUCING
        else:
            state = TradingState.ACTIVE
        book = runtime.instruments
        fetched = book.fetched_at
        return AccountView(
            id=config.id,
            mode=config.mode,
            currency=config.currency,
            connector=config.connector,
            balance=runtime.trader.balance,
            trading_state=state.value,
            trading_allowed=state is not TradingState.HALTED,
            halted_reason=executor.halted_reason,
            storage_healthy=executor.storage_healthy,
            restrictions=restrictions,
            instruments=len(book.all()),
            instruments_age_s=self._engine.clock.now() - fetched
            if fetched > float("-inf")
            else None,
            orders_submitted=runtime.trader.orders_submitted,
            workers=dict(workers),
        )

    def _restrictions(self, runtime: AccountRuntime) -> tuple[RestrictionView, ...]:
        """The guards' restrictions plus the executor's halt: one source for the state."""
        account_id = runtime.config.id
        found = [_restriction(s) for s in self._engine.risk.trading_state(account_id).restrictions]
        executor = runtime.executor
        if not executor.trading_allowed:
            found.append(
                RestrictionView(
                    guard=EXECUTOR_GUARD,
                    effect=TradingEffect.HALT.value,
                    reason="storage_unavailable"
                    if not executor.storage_healthy
                    else "executor_halted",
                    scope="account",
                    scope_key=account_id,
                    until_ts=None,
                    detail=executor.halted_reason or "not accepting orders",
                )
            )
        return tuple(found)

    def _workers(self) -> tuple[WorkerView, ...]:
        supervisor = self._engine.supervisor
        return tuple(
            WorkerView(
                label=worker.key.label,
                account_id=worker.key.account_id,
                instrument=worker.key.instrument,
                timeframe=worker.key.timeframe,
                state=str(worker.state),
                paused=worker.paused,
                bars_seen=worker.bars_seen,
                decisions=worker.decisions,
                stale_bars=worker.stale_bars,
                failures=supervisor.failures.get(worker.key.label, 0),
                last_bar_end_ts=worker.last_bar_end_ts or None,
            )
            for worker in supervisor.workers.values()
        )

    def _kill_switch(self) -> KillSwitchView:
        switch = self._engine.risk.kill_switch
        accounts = {}
        for account_id in self.account_ids:
            found = switch.engagement(account_id)
            if found is not None:
                accounts[account_id] = _engagement(found)
        engaged = switch.engagement(None)
        return KillSwitchView(
            global_engagement=_engagement(engaged) if engaged is not None else None,
            accounts=accounts,
        )

    def _metrics_snapshot(self) -> dict[str, Any]:
        engine = self._engine
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
                "trading_state": self._account(runtime, Counter()).trading_state,
            }
        states: Counter[str] = Counter()
        decisions = 0
        for worker in engine.supervisor.workers.values():
            states[str(worker.state)] += 1
            decisions += worker.decisions
        return {
            "clock_time": datetime.fromtimestamp(engine.clock.now(), tz=UTC).isoformat(),
            "accounts": accounts,
            "workers": dict(states),
            "decisions": decisions,
            "guard_rejects": self._guard_rejects(),
        }

    def _guard_rejects(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in self._engine.risk.reject_counts.items()}

    def _change_workers(
        self,
        labels: Collection[str],
        accounts: Collection[str],
        everything: bool,
        operator: str,
        pause: bool,
    ) -> WorkerChange:
        workers = self._engine.supervisor.workers
        if everything:
            chosen, unknown = list(workers), []
        else:
            chosen = [label for label in labels if label in workers]
            unknown = [label for label in labels if label not in workers]
            known_accounts = {w.key.account_id for w in workers.values()}
            unknown += sorted(set(accounts) - known_accounts)
            chosen += [label for label, w in workers.items() if w.key.account_id in accounts]
        supervisor = self._engine.supervisor
        selected = list(dict.fromkeys(chosen))
        changed = supervisor.pause(selected) if pause else supervisor.resume(selected)
        if changed:
            self._audit(operator, "workers.pause" if pause else "workers.resume", labels=changed)
        return WorkerChange(changed=tuple(changed), unknown=tuple(unknown))

    def _engage(self, account_id: str | None, operator: str, reason: str) -> bool:
        self._known(account_id)
        by = operator.strip()
        changed = self._engine.risk.kill_switch.engage(account_id, by=by, reason=reason)
        if changed:
            where = "globally" if account_id is None else f"for account {account_id}"
            self._engine.alarms.raise_catalogued(
                AlarmCode.KILL_SWITCH,
                f"kill-switch engaged {where} by {by}: {reason}",
                scope=account_id or "global",
            )
        return changed

    def _re_arm(self, account_id: str | None, operator: str) -> bool:
        self._known(account_id)
        try:
            changed = self._engine.risk.kill_switch.re_arm(account_id, operator=operator)
        except ReArmRefused as error:
            raise CommandRefused(str(error)) from None
        if changed:
            where = "global" if account_id is None else f"account {account_id}"
            self._engine.alarms.raise_alarm(
                "warning",
                "kill_switch_re_armed",
                f"{where} kill-switch re-armed by {operator.strip()}",
                scope=account_id or "global",
            )
        return changed

    def _resume(self, account_id: str | None, operator: str) -> ResumeOutcome:
        self._known(account_id)
        person = operator.strip()
        if not person or person.lower().startswith(SYSTEM_ACTOR):
            raise CommandRefused(f"trading is resumed only by a person; {operator!r} is not")
        targets = self.account_ids if account_id is None else (account_id,)
        resumed: list[str] = []
        refused: dict[str, str] = {}
        for target in targets:
            executor = self._runtime(target).executor
            if executor.trading_allowed:
                continue
            halted = executor.halted_reason or "halted"
            try:
                executor.resume_trading()
            except TradingHalted as error:
                refused[target] = str(error)
                continue
            resumed.append(target)
            self._engine.alarms.raise_alarm(
                "warning",
                RESUMED_ALARM,
                f"trading resumed by {person} for account {target} (was: {halted})",
                scope=target,
            )
        if resumed:
            self._audit(person, RESUME_AUDIT_ACTION, accounts=resumed, refused=refused)
        elif refused:
            raise CommandRefused("; ".join(f"{k}: {v}" for k, v in refused.items()))
        return ResumeOutcome(resumed=tuple(resumed), refused=refused)

    def _audit(self, actor: str, action: str, **detail: Any) -> None:
        with self._engine.sessions() as session, session.begin():
            record_audit(session, actor=actor, action=action, detail=detail)


def _restriction(status: GuardStatus) -> RestrictionView:
    return RestrictionView(
        guard=status.guard,
        effect=status.effect.value,
        reason=status.reason.value,
        scope=status.scope.value,
        scope_key=status.scope_key,
        until_ts=status.until.timestamp() if status.until is not None else None,
        detail=status.detail,
    )


def _engagement(found: Engagement) -> EngagementView:
    return EngagementView(reason=found.reason, by=found.by, at_ts=found.at.timestamp())
