"""The engine: composed from the configuration and what the plugin host registered.

Start-up order (nothing trades before the last step):

1. storage migrated to head (fail closed on a storage fault); the accounts this process
   runs (``runtime.accounts``, default all) claimed on the store, so no second process
   runs them (:mod:`~moonlight.core.runtime.account_claims`);
2. telemetry (metrics, alarms), risk (guard state from storage), calibrations;
3. per account: connector(s) built by their plugin factories and connected; the
   account's ``mode`` checked against what the broker reports
   (:mod:`~moonlight.core.runtime.account_mode`); the broker's clock measured
   (:mod:`~moonlight.core.runtime.server_time`); the executor reconciles every
   non-terminal order with the broker or paper book;
4. one worker per (account, product, timeframe) warms up and starts trading.

An account whose step 3 fails (authentication, an unreachable broker, a mode the broker
contradicts, reconciliation) is recorded HALTED with its reason in :attr:`Engine.halts`
and a critical alarm; the other accounts start and trade
(:mod:`~moonlight.core.runtime.account_halts`). When no account starts at all, the
first account's error fails the start, so a service manager sees the exit and retries.

Paper mode: an account whose ``mode`` is ``paper`` sends its orders to MoonLight's
paper broker, which settles them on the prices of the account's connector (or, for the
``paper`` connector itself, on a simulated market).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.config.models import AccountConfig, MoonlightConfig
from moonlight.core.connectors.contract import Connector
from moonlight.core.connectors.plugin import PaperBrokerConfig, make_paper
from moonlight.core.decisions.sink import DecisionSink
from moonlight.core.ensemble.book import CalibrationBook
from moonlight.core.ensemble.online import OnlineCalibrator
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.ensemble.store import load_book
from moonlight.core.events import AlarmRaised, EngineStarted, EngineStopped
from moonlight.core.execution.executor import Executor
from moonlight.core.execution.journal import Journal, OrderJournal
from moonlight.core.plugins.host import PluginHost
from moonlight.core.plugins.registry import ComponentKind
from moonlight.core.risk.builder import build_risk_manager
from moonlight.core.risk.manager import RiskManager
from moonlight.core.risk.sql_state_store import SqlGuardStateStore
from moonlight.core.runtime.account_claims import AccountClaims
from moonlight.core.runtime.account_halts import START_FAILURES, AccountHalts
from moonlight.core.runtime.account_mode import MODE_MISMATCH, AccountModeGate, AccountModeMismatch
from moonlight.core.runtime.alarms import RiskAlarms
from moonlight.core.runtime.clock import BrokerClock, Clock, FastForwardClock, WallClock
from moonlight.core.runtime.collector import CollectorPacer
from moonlight.core.runtime.daily_pnl import DayRollover, stored_day_pnl
from moonlight.core.runtime.fairness import DeficitRoundRobin
from moonlight.core.runtime.instruments import InstrumentBook
from moonlight.core.runtime.server_time import ServerTimeSync
from moonlight.core.runtime.snapshots import WorkerSnapshots
from moonlight.core.runtime.supervisor import WorkerSupervisor
from moonlight.core.runtime.trader import AccountTrader
from moonlight.core.runtime.worker import Worker, WorkerTiming
from moonlight.core.runtime.worker_key import WorkerKey
from moonlight.core.secrets import SecretsView
from moonlight.core.storage.engine import session_factory
from moonlight.core.storage.group_commit import GroupCommit
from moonlight.core.storage.migrate import prepare_storage
from moonlight.core.strategy.factory import build_strategies
from moonlight.core.strategy.host import StrategyGroup
from moonlight.core.strategy.indicators import RegistryIndicatorSource
from moonlight.core.telemetry.alarms import AlarmCenter, plugin_notifier, sql_alarm_store
from moonlight.core.telemetry.metrics import EngineMetrics
from moonlight.core.telemetry.snapshots import MetricsSnapshotter, sql_writer
from moonlight.core.timeframes import timeframe_seconds

log = logging.getLogger("moonlight.engine")

EventListener = Callable[[str, Any], None]


@dataclass
class AccountRuntime:
    """What one account runs on: its market, its broker, executor and trader."""

    config: AccountConfig
    market: Connector
    broker: Connector
    executor: Executor
    trader: AccountTrader
    instruments: InstrumentBook
    clock: BrokerClock


@dataclass
class Engine:
    """A running MoonLight engine; build with :meth:`Engine.create`, then ``await start()``."""

    config: MoonlightConfig
    host: PluginHost
    clock: Clock
    storage: SqlEngine
    sessions: sessionmaker[Session]
    metrics: EngineMetrics
    alarms: AlarmCenter
    risk: RiskManager
    supervisor: WorkerSupervisor
    #: Accounts that do not trade and why (start failures, mode contradicted by the broker).
    halts: AccountHalts
    run_id: str | None = None
    #: Write metric snapshots and worker state snapshots (off in backtests).
    snapshots: bool = True
    accounts: dict[str, AccountRuntime] = field(default_factory=dict)
    started_at: float | None = None
    #: Builds each worker (keyword arguments as :class:`Worker` takes them); the
    #: backtest passes its own worker class here instead of patching workers.
    worker_factory: Callable[..., Worker] = Worker
    #: Keep measuring each broker's clock while running (off where the connector's
    #: server time is the engine's own clock, as in a replay).
    follows_server_time: ClassVar[bool] = True
    _listeners: list[EventListener] = field(default_factory=list)
    _admissions: dict[str, DeficitRoundRobin] = field(default_factory=dict)
    _background: list[asyncio.Task[Any]] = field(default_factory=list)
    _snapshots: WorkerSnapshots | None = None
    _claims: AccountClaims | None = None
    #: Every decision with its shadow outcome; the walk-forward calibration (at start).
    decisions: DecisionSink | None = None
    #: The per-instant group commit of results and the guard state they change.
    bookkeeping: GroupCommit | None = None

    @classmethod
    def create(
        cls,
        config: MoonlightConfig,
        host: PluginHost,
        *,
        clock: Clock | None = None,
        run_id: str | None = None,
        snapshots: bool = True,
    ) -> Engine:
        """Prepare storage, telemetry and risk (no network, no trading yet)."""
        clock = clock or WallClock()
        storage = prepare_storage(config)
        sessions = session_factory(storage)
        metrics = EngineMetrics(process_metrics=False)
        alarms = AlarmCenter(
            store=sql_alarm_store(sessions), listeners=[plugin_notifier(host)], clock=clock.now
        )
        bookkeeping = GroupCommit(storage)
        risk = build_risk_manager(
            config.risk,
            host.registry,
            store=SqlGuardStateStore(sessions, group=bookkeeping),
            now=lambda: datetime.fromtimestamp(clock.now(), UTC),
            on_reject=lambda _request, verdict: metrics.guard_rejected(
                verdict.reason.value if verdict.reason else "unknown"
            ),
        )
        supervisor = WorkerSupervisor(
            clock, restart_backoff_max_s=config.runtime.restart_backoff_max_s
        )
        engine = cls(
            config,
            host,
            clock,
            storage,
            sessions,
            metrics,
            alarms,
            risk,
            supervisor,
            AccountHalts(alarms.raise_alarm, clock.now),
            run_id=run_id,
            snapshots=snapshots,
            bookkeeping=bookkeeping,
        )
        supervisor.on_failure = engine._worker_failed
        metrics.track_workers(supervisor.states)
        return engine

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, reconcile and start every worker (see the module docstring)."""
        strategies = build_strategies(self.config.strategies, self.host.registry)
        names = [entry.name for entry, _ in strategies]
        weights = [entry.weight for entry, _ in strategies]
        calibrations = self._calibrations()
        self.decisions = self._decision_sink(calibrations)
        failures: list[BaseException] = []
        owned = self.config.owned_accounts()  # scale-out: this process's accounts only
        self._claims = AccountClaims.acquire(self.storage, [a.id for a in owned])
        for account in owned:
            try:
                runtime = await self._start_account(account, names, weights, calibrations)
            except START_FAILURES as error:  # this account only: the others still start
                self.halts.start_failed(account.id, error)
                failures.append(error)
                continue
            self.accounts[account.id] = runtime
        if failures and not self.accounts:  # nothing could start: fail the start (exit 1)
            self._claims.release()
            raise failures[0]
        source = RegistryIndicatorSource(self.host.registry)
        self._snapshots = (
            WorkerSnapshots(self.config.data_dir / "state" / "workers") if self.snapshots else None
        )
        timing = WorkerTiming(
            settle_delay_s=self.config.runtime.settle_delay_s,
            max_decision_delay_s=self.config.runtime.max_decision_delay_s,
            catch_up_bars=self.config.runtime.catch_up_bars,
        )
        for runtime in self.accounts.values():
            for product in runtime.config.products:
                for timeframe in runtime.config.timeframes:
                    fresh = [
                        s for _, s in build_strategies(self.config.strategies, self.host.registry)
                    ]
                    worker = self.worker_factory(
                        WorkerKey(runtime.config.id, product, timeframe),
                        timeframe_s=timeframe_seconds(timeframe),
                        market=runtime.market,
                        clock=runtime.clock,
                        group=StrategyGroup(fresh, source),
                        trader=runtime.trader,
                        admission=self._admission(runtime.config.connector),
                        timing=timing,
                        snapshots=self._snapshots,
                    )
                    self._start_worker(worker)
        if self.snapshots:
            snapshotter = MetricsSnapshotter(
                self.metrics,
                sql_writer(self.sessions),
                interval_s=self.config.telemetry.metrics_snapshot_s,
            )
            self._spawn(snapshotter.run(), "metrics snapshots")
        self._spawn(
            DayRollover(self.metrics, self.clock, ZoneInfo(self.config.risk.timezone)).run(),
            "pnl_day rollover",
        )
        if self.snapshots and not isinstance(self.clock, FastForwardClock):
            # Engines in real (or scaled real) time only: no collection during a close.
            timeframes = {worker.timeframe_s for worker in self.supervisor.workers.values()}
            self._spawn(CollectorPacer(self.clock, timeframes).run(), "collector pacer")
        self.started_at = self.clock.now()
        self.host.notify("moonlight_on_engine_started", event=EngineStarted(tuple(self.accounts)))
        log.info(
            "engine started: %d account(s), %d worker(s)",
            len(self.accounts),
            len(self.supervisor.workers),
        )

    async def stop(self, reason: str = "requested") -> None:
        """Stop deciding, let the executors persist what is in flight, disconnect."""
        await self.supervisor.stop()
        if self.decisions is not None:
            self.decisions.close()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for admission in self._admissions.values():
            await admission.close()
        for runtime in self.accounts.values():
            await self._close_account(runtime.executor, runtime.broker, runtime.market)
        if self._claims is not None:
            self._claims.release()
        self.host.notify("moonlight_on_engine_stopped", event=EngineStopped(reason))
        self.storage.dispose()
        log.info("engine stopped: %s", reason)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` until the engine stops; an error ending it early is logged and
        raised as an alarm (never left as an unretrieved task exception)."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        task.add_done_callback(self._background_ended)
        self._background.append(task)

    def _background_ended(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        log.error("%s ended with an error: %r", task.get_name(), error, exc_info=error)
        self.alarms.raise_alarm(
            "critical", "task_failed", f"{task.get_name()} ended with an error: {error!r}"
        )

    def subscribe(self, listener: EventListener) -> None:
        """Receive ``(hook_name, event)`` for every order, result and alarm event."""
        self._listeners.append(listener)

    # -- composition --------------------------------------------------------------------

    async def _start_account(
        self,
        account: AccountConfig,
        names: list[str],
        weights: list[float],
        calibrations: CalibrationBook,
    ) -> AccountRuntime:
        market = self._build_connector(account)
        # Orders, expiries and bar closes run on the broker's time (offset measured below).
        broker_clock = BrokerClock(self.clock)
        broker = market
        if account.mode == "paper" and account.connector != "paper":
            broker = make_paper(
                PaperBrokerConfig(), clock=broker_clock, sessions=self.sessions, source=market
            )
        mode_gate = AccountModeGate(
            broker,
            account.id,
            account.mode,
            on_mismatch=partial(self._mode_contradicted, account.id),
            on_verified=lambda _: self.halts.lift(account.id, MODE_MISMATCH),
        )
        executor = Executor(
            connector=broker,
            journal=self._journal(),
            clock=broker_clock,
            notify=self._notify,
            gate=mode_gate,
            on_rejected=self.metrics.guard_rejected,
        )
        instruments = InstrumentBook(broker, broker_clock)
        trader = AccountTrader(
            account,
            executor=executor,
            instruments=instruments,
            risk=self.risk,
            metrics=self.metrics,
            clock=broker_clock,
            strategy_names=names,
            weights=weights,
            min_payout_pct=self.config.risk.permit_min_pct,
            calibrations=calibrations,
            prior=self._paper_prior(),
            run_id=self.run_id,
            risk_alarms=RiskAlarms(account.id, self.risk, self.alarms),
            decisions=self.decisions,
        )
        executor.report_to(trader)
        time_sync = ServerTimeSync(
            market,
            broker_clock,
            alarm=lambda level, code, message: self.alarms.raise_alarm(
                level, code, message, f"acc:{account.id}"
            ),
            label=account.id,
        )
        try:
            await market.connect()
            if broker is not market:
                await broker.connect()
            await mode_gate.verify()  # before reconciling: never touch the wrong account
            await time_sync.start()
            trader.restate_day(
                stored_day_pnl(
                    self.sessions,
                    account.id,
                    now_ts=broker_clock.now(),
                    tz=ZoneInfo(self.config.risk.timezone),
                    run_id=self.run_id,
                )
            )
            report = await executor.start([account.id])
        except BaseException:
            await self._close_account(executor, broker, market)
            raise
        log.info("account %s reconciled: %s", account.id, report)
        await instruments.refresh(force=True)
        await trader.refresh_balance()
        if self.follows_server_time:
            self._spawn(time_sync.run(), f"server time {account.id}")
        return AccountRuntime(account, market, broker, executor, trader, instruments, broker_clock)

    def _mode_contradicted(self, account_id: str, error: AccountModeMismatch) -> None:
        """The broker contradicts the account's mode: halt it (orders in flight go on)."""
        runtime = self.accounts.get(account_id)
        if runtime is not None:
            runtime.executor.halt(str(error))
        self.halts.halt(account_id, MODE_MISMATCH, str(error))

    @staticmethod
    async def _close_account(executor: Executor, broker: Connector, market: Connector) -> None:
        """Close what one account opened (its start failed, or the engine stops); a part
        that fails to close is logged and the rest are still closed."""
        await executor.stop()
        executor.journal.close()
        for connector in (broker,) if market is broker else (broker, market):
            try:
                await connector.close()
            except Exception:  # closing a half-open connection must not hide the cause
                log.exception("closing %s failed", type(connector).__name__)

    def _build_connector(self, account: AccountConfig) -> Connector:
        spec = self.host.registry.get(ComponentKind.CONNECTOR, account.connector)
        options = (
            spec.config_model.model_validate(account.connector_options)
            if spec.config_model is not None
            else None
        )
        connector: Connector = spec.factory(
            options, secrets=SecretsView(), clock=self.clock, sessions=self.sessions
        )
        return connector

    def _start_worker(self, worker: Worker) -> None:
        """Run ``worker`` as a supervised task (its own bar-close loop)."""
        self.supervisor.start(worker)

    def _journal(self) -> Journal:
        """The journal of one account's executor: the stored order book, its final
        states and results written in the instant's group commit."""
        return OrderJournal(self.storage, group=self.bookkeeping)

    def _admission(self, connector_name: str) -> DeficitRoundRobin | None:
        admission = self._admissions.get(connector_name)
        if admission is None:
            admission = self._admissions[connector_name] = DeficitRoundRobin(
                self.clock,
                rate_per_s=self.config.runtime.connector_rate_per_s,
                burst=self.config.runtime.connector_burst,
            )
        return admission

    def _paper_prior(self) -> Calibration | None:
        prior = self.config.ensemble.paper_prior
        return None if prior is None else Calibration(prior.a, prior.b, fitted=False)

    def _decision_sink(self, seed: CalibrationBook, *, batch: int = 1) -> DecisionSink:
        """Shadow outcomes of every decision feed a walk-forward calibration seeded with
        the stored fits (see :mod:`moonlight.core.decisions.sink`)."""
        settings = self.config.ensemble.calibration
        calibrator = OnlineCalibrator(
            min_samples=settings.min_samples,
            refit_every=settings.refit_every,
            window=settings.window,
            regularisation=settings.regularisation,
            seed=seed,
        )
        return DecisionSink(calibrator, self.sessions, run_id=self.run_id, batch=batch)

    def _calibrations(self) -> CalibrationBook:
        with self.sessions() as session:
            return load_book(session, min_samples=self.config.ensemble.calibration.min_samples)

    # -- events -------------------------------------------------------------------------

    def _notify(self, hook_name: str, *, event: Any) -> None:
        if isinstance(event, AlarmRaised):
            self.alarms.raise_alarm(event.level, event.code, event.message, event.scope)
        else:
            self.host.notify(hook_name, event=event)
        for listener in self._listeners:
            try:
                listener(hook_name, event)
            except Exception:  # a listener (the server's hub) must not break the engine
                log.exception("event listener failed")

    def _worker_failed(self, worker: Worker, error: BaseException) -> None:
        self.alarms.raise_alarm(
            "warning",
            "worker_failed",
            f"worker {worker.key.label} failed: {error!r}",
            scope=worker.key.account_id,
        )
