"""BacktestEngine: the real engine, composed for a replay on a fast-forward clock.

Everything that decides is the live engine's own code -- workers, the decision step
(:mod:`moonlight.core.runtime.step`), strategy host, ensemble, risk manager, executor,
paper broker. What a backtest changes is what the engine is *composed from* (through
the engine's factory methods, never by patching what it built) and costs that have no
effect on any decision:

* **the loop**: no task per worker. :meth:`BacktestEngine.run_until` takes the next bar
  instant from a heap, gathers every worker due at it and runs the synchronous step
  over all of them; the clock jumps straight there unless orders or settlements are
  pending, in which case it runs the fast-forward clock up to the instant so the order
  path behaves exactly as live. No admission queue (the history is in memory) and no
  server-time task (the replay's server time is the clock itself);
* **the journal**: each executor journals in memory from the start
  (:class:`~moonlight.core.backtest.journal.MemoryJournal`); orders an earlier run left
  in flight in the same storage are reconciled first by an executor of their own;

* **market**: every account reads a :class:`~moonlight.core.backtest.replay.ReplayConnector`
  and trades in paper mode;
* **broker**: a :class:`ReplayPaperBroker` -- the paper broker with the bar-close price
  feed (:mod:`moonlight.core.backtest.feed`) and an in-memory book at the chosen starting
  balance. Its settlement pump wakes exactly at the instants the paper broker's polling
  pump would settle (the first ``poll_interval_s`` grid point at or after an expiry,
  counted from the engine's start), instead of waking every ``poll_interval_s``;
* **calibration** starts from nothing: p̂ is learned walk-forward from the run's own
  shadow outcomes (stored fits are ignored -- they may come from later data), and
  decision rows are written in batches;
* **guard state** lives in memory: a backtest starts from a clean account, never from
  the kill-switch or losing streak persisted by an earlier run in the same database;
* **workers** are :class:`BacktestWorker`: during a long gap (a weekend) the live worker
  rebuilds its indicators from the same bars at every bar close; the backtest worker
  still asks the connector every time but skips a rebuild that would reproduce the
  state it already has;
* **observers** are not called: the engine gets a :class:`SilentHost`, so notifier
  plugins (a Telegram or e-mail notifier) never hear about simulated orders and alarms
  -- a replay of six months must not page anyone.

The engine starts ``phase_s`` after a bar boundary, chosen so that no settlement instant
coincides with a decision instant: a result is always seen by risk strictly before or
strictly after a decision, never in an order that depends on task scheduling
(:func:`settlement_phase_s`).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from moonlight.core.backtest.journal import MemoryJournal
from moonlight.core.backtest.replay import ReplayConnector
from moonlight.core.config.models import AccountConfig
from moonlight.core.connectors.contract import Connector, OrderAck, OrderRequest
from moonlight.core.connectors.paper import PaperBroker
from moonlight.core.connectors.paper_book import MemoryPaperBook
from moonlight.core.decisions.sink import DecisionSink
from moonlight.core.ensemble.book import CalibrationBook
from moonlight.core.execution.executor import Executor
from moonlight.core.execution.journal import Journal, OrderJournal
from moonlight.core.plugins.host import PluginHost
from moonlight.core.risk.builder import build_risk_manager
from moonlight.core.risk.state_store import MemoryGuardStateStore
from moonlight.core.runtime.clock import Clock, FastForwardClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.runtime.step import Due, decide
from moonlight.core.runtime.worker import Worker

log = logging.getLogger("moonlight.backtest")

#: The paper broker's default polling interval (PaperBrokerConfig.poll_interval_s).
POLL_INTERVAL_S = 0.5
STARTING_BALANCE = 10_000.0
#: Decision rows written per storage transaction in a backtest.
DECISION_BATCH = 2000


def settlement_phase_s(settle_delay_s: float, poll_interval_s: float = POLL_INTERVAL_S) -> float:
    """Offset of the engine start after a bar boundary, in [0, poll_interval_s).

    Decisions happen at ``bar close + settle_delay_s``; the paper broker settles on the
    grid ``start + k × poll_interval_s``. Starting half a poll interval away from the
    decision phase keeps the two sets of instants disjoint.
    """
    return math.fmod(settle_delay_s + poll_interval_s / 2.0, poll_interval_s)


def settle_instant(expires_ts: float, origin_ts: float, poll_interval_s: float) -> float:
    """When a polling pump started at ``origin_ts`` first sees a contract expired."""
    steps = max(1, math.ceil((expires_ts - origin_ts) / poll_interval_s))
    return origin_ts + steps * poll_interval_s


class SilentHost(PluginHost):
    """The same plugins and registry; observer hooks (``notify``) reach nobody."""

    def notify(self, hook_name: str, **kwargs: Any) -> int:
        return 0

    @classmethod
    def of(cls, host: PluginHost) -> SilentHost:
        """A silent view of ``host`` (shares its manager and registry)."""
        return cls(**{f.name: getattr(host, f.name) for f in fields(host)})


class ReplayPaperBroker(PaperBroker):
    """The paper broker with an event-driven pump; see the module docstring."""

    def __init__(
        self,
        *,
        source: ReplayConnector,
        clock: Clock,
        origin_ts: float,
        starting_balance: float = STARTING_BALANCE,
        currency: str = "USD",
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        super().__init__(
            source=source,
            book=MemoryPaperBook(starting_balance=starting_balance, currency=currency),
            clock=clock,
            feed=source.price_feed(clock),
            poll_interval_s=poll_interval_s,
            owns_source=False,
        )
        self.origin_ts = origin_ts
        self._target: float | None = None
        self._kick = asyncio.Event()

    def _next_tick(self, expires_ts: float) -> float:
        tick = settle_instant(expires_ts, self.origin_ts, self._poll_interval_s)
        now = self.clock.now()
        if tick <= now:  # due but not settleable yet: retry at the next grid point
            tick = settle_instant(
                math.nextafter(now, math.inf), self.origin_ts, self._poll_interval_s
            )
        return tick

    async def _run_pump(self) -> None:
        while True:
            if not self._due:
                self._target = None
                self._kick.clear()
                await self._kick.wait()
                continue
            self._target = self._next_tick(self._due[0][0])
            await self.clock.sleep_until(self._target)
            self._settle_due()

    async def place_order(self, request: OrderRequest) -> OrderAck:
        ack = await super().place_order(request)
        if self._target is None:
            self._kick.set()
        elif self._next_tick(ack.expires_ts) < self._target and self._pump is not None:
            self._pump.cancel()  # an earlier expiry than the one the pump waits for
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())
        return ack


class BacktestWorker(Worker):
    """A worker that skips rebuilding indicators from bars it was just rebuilt from."""

    _warm_window: tuple[int, float, float] | None = None

    async def warm_up(self) -> None:
        warmup = max((host.warmup_bars for host in self.group.hosts), default=0)
        count = warmup + self.timing.warmup_extra_bars
        now = self.clock.now()
        candles = await self._fetch(count=count, end_ts=now)
        window = [c for c in candles if c.end_ts <= now]
        key = (len(window), window[0].end_ts, window[-1].end_ts) if window else None
        if key is not None and key == self._warm_window and self.last_bar_end_ts == key[2]:
            return  # nothing arrived since the last rebuild: it would rebuild this state
        self.group.reset()
        self.last_bar_end_ts = 0.0
        self._replay(window)
        self._warm_window = key


@dataclass
class BacktestEngine(Engine):
    """The engine over a replay; build with :meth:`Engine.create`, then :meth:`use_replay`.

    Accounts must be configured with ``connector: paper`` (see
    :func:`moonlight.core.backtest.runner.backtest_config`): the engine then uses the
    connector it is given as both market and broker, and this engine gives it a
    :class:`ReplayPaperBroker` over the replay. The account's executor journals in
    memory (:class:`~moonlight.core.backtest.journal.MemoryJournal`) and writes every
    order to storage when the engine stops, its id prefixed with the run id.
    """

    replay: ReplayConnector | None = None
    follows_server_time: ClassVar[bool] = False
    worker_factory: Callable[..., Worker] = BacktestWorker
    starting_balance: float = STARTING_BALANCE
    poll_interval_s: float = POLL_INTERVAL_S

    def use_replay(
        self, replay: ReplayConnector, *, starting_balance: float = STARTING_BALANCE
    ) -> None:
        """Serve every account from ``replay``; guard state from a fresh in-memory store."""
        self.replay = replay
        self.starting_balance = starting_balance
        metrics = self.metrics
        clock = self.clock
        self.risk = build_risk_manager(
            self.config.risk,
            self.host.registry,
            store=MemoryGuardStateStore(),
            now=lambda: datetime.fromtimestamp(clock.now(), UTC),
            on_reject=lambda _request, verdict: metrics.guard_rejected(
                verdict.reason.value if verdict.reason else "unknown"
            ),
        )

    def _calibrations(self) -> CalibrationBook:
        """None: a backtest learns p̂ walk-forward from its own shadow outcomes only, so
        no fit made from later data (a stored ``moonlight calibrate``) can leak in."""
        return CalibrationBook(min_samples=self.config.ensemble.calibration.min_samples)

    def _decision_sink(self, seed: CalibrationBook, *, batch: int = DECISION_BATCH) -> DecisionSink:
        """The live sink, writing in batches (a replay makes thousands per second)."""
        return super()._decision_sink(seed, batch=batch)

    def _build_connector(self, account: AccountConfig) -> Connector:
        if self.replay is None:
            raise RuntimeError("BacktestEngine.use_replay() was not called")
        if account.connector != "paper" or account.mode != "paper":
            raise RuntimeError(
                f"account {account.id}: a backtest account must be connector paper, mode paper"
            )
        return ReplayPaperBroker(
            source=self.replay,
            clock=self.clock,
            origin_ts=self.clock.now(),
            starting_balance=self.starting_balance,
            currency=account.currency,
            poll_interval_s=self.poll_interval_s,
        )

    async def start(self) -> None:
        """Settle what an earlier run left in flight in this storage, then start."""
        await self._close_leftovers()
        await super().start()

    async def _close_leftovers(self) -> None:
        """Reconcile the stored orders an earlier backtest left in flight (its history
        ended before their expiry) against a fresh replay broker, which knows none of
        them: they end FAILED, as after any restart. Orders of accounts this run does not
        trade are an error -- this run cannot vouch for them."""
        stored = OrderJournal(self.storage)
        try:
            owners = {order.account_id for order in stored.non_terminal()}
            for account in self.config.owned_accounts():
                if account.id not in owners:
                    continue
                broker = self._build_connector(account)
                executor = Executor(connector=broker, journal=stored, clock=self.clock)
                await broker.connect()
                try:
                    report = await executor.start([account.id])
                    log.info("account %s: earlier run's orders closed: %s", account.id, report)
                finally:
                    await executor.stop()
                    await broker.close()
            if stored.non_terminal():
                raise RuntimeError("a backtest needs a storage without orders in flight")
        finally:
            stored.close()

    def _journal(self) -> Journal:
        """In memory: every order is written to storage when the engine stops, its id
        prefixed with the run id."""
        prefix = f"{self.run_id}/" if self.run_id else ""
        return MemoryJournal(self.storage, id_prefix=prefix)

    def _admission(self, connector_name: str) -> None:
        """No request budget: the history is in memory."""
        return None

    def _start_worker(self, worker: Worker) -> None:
        """Followed by the supervisor, driven by :meth:`run_until` (no task per worker)."""
        self.supervisor.register(worker)

    async def run_until(
        self, stop_ts: float, progress: Callable[[float], None] | None = None
    ) -> None:
        """Replay every worker's bar closes up to ``stop_ts`` in one plain loop.

        The loop takes the next instant from a heap of the workers' next bar closes,
        gathers every worker due at it, awaits their candles (answered from memory,
        never suspending), and runs the synchronous decision step over all of them. Time
        jumps straight to the next instant unless orders are in flight or callbacks are
        ready: only then does it wait on the fast-forward clock, which runs the executor
        and the paper broker's settlements at their own instants in between, exactly as
        when every worker slept on that clock. ``progress`` gets the time of each instant.
        """
        clock = self.clock
        if not isinstance(clock, FastForwardClock):
            raise RuntimeError("a backtest engine runs on a FastForwardClock")
        settle_s = self.config.runtime.settle_delay_s
        workers = list(self.supervisor.workers.values())
        for worker in workers:
            await worker.start()
        queue = [(worker.next_close(), index) for index, worker in enumerate(workers)]
        heapq.heapify(queue)
        while queue and queue[0][0] + settle_s <= stop_ts:
            close_ts = queue[0][0]
            at = close_ts + settle_s
            if clock.idle_until(at):
                clock.advance_to(at)
            else:
                await clock.sleep_until(at)
            due: list[Due] = []
            while queue and queue[0][0] == close_ts:
                _, index = heapq.heappop(queue)
                worker = workers[index]
                try:
                    item = await worker.collect(close_ts)
                except Exception as error:  # one worker's failure must not end the run
                    self.supervisor.failed(worker, error, "it goes on at its next bar")
                    item = None
                if item is not None:
                    due.append(item)
                heapq.heappush(queue, (worker.next_close(), index))
            traders = {id(d.worker.trader): d.worker.trader for d in due if d.tradable}
            for trader in traders.values():
                await trader.prepare()
            decide(due)
            if progress is not None:
                progress(at)
        await clock.sleep_until(stop_ts)


def attach_bar_feeds(engine: Engine) -> int:
    """Point every paper broker whose source is a replay at the bar-close feed.

    For a *live-composed* engine (``Engine``, not ``BacktestEngine``) whose accounts use
    the ``replay`` connector in paper mode: the paper broker picks a tick recorder when
    it connects, which cannot price contracts from bars. Call right after
    ``engine.start()`` (before the first bar is traded). Returns how many were attached.
    """
    attached = 0
    for runtime in engine.accounts.values():
        broker, market = runtime.broker, runtime.market
        if isinstance(broker, PaperBroker) and isinstance(market, ReplayConnector):
            if broker.book.open_contracts(runtime.config.id):
                raise RuntimeError("attach the bar feed before any contract is opened")
            broker.feed = market.price_feed(engine.clock)
            attached += 1
    return attached
