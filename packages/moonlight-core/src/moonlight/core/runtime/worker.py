"""One worker: a bar-close loop for one (account, instrument, timeframe).

At every bar close (plus a settle delay) the worker fetches the closed candles it has
not seen and feeds the missed ones in order to its strategies' streaming indicators
(:meth:`Worker.collect`, the I/O half); the bar that just closed goes through the
synchronous decision step (:mod:`moonlight.core.runtime.step`), which decides it --
only while that bar is fresh -- through the worker's
:class:`~moonlight.core.runtime.trader.AccountTrader`. Missed bars are replayed into the
indicators (so state stays exact) but never traded: no decision on stale data.

If more bars were missed than ``catch_up_bars`` (a long disconnect), the indicators are
rebuilt from history instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from moonlight.core.connectors.contract import Candle, Connector, ConnectorError
from moonlight.core.runtime.clock import Clock, next_bar_close
from moonlight.core.runtime.error_kinds import classify_error
from moonlight.core.runtime.fairness import DeficitRoundRobin
from moonlight.core.runtime.snapshots import WorkerSnapshots
from moonlight.core.runtime.step import Due, decide
from moonlight.core.runtime.trader import AccountTrader
from moonlight.core.runtime.worker_key import WorkerKey
from moonlight.core.strategy.host import StrategyGroup

log = logging.getLogger("moonlight.worker")


class WorkerState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    BACKOFF = "backoff"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class WorkerTiming:
    """When a worker looks at a closed bar and how long the bar stays tradable."""

    settle_delay_s: float = 0.5
    max_decision_delay_s: float = 5.0
    catch_up_bars: int = 200
    warmup_extra_bars: int = 10


class Worker:
    """The bar-close loop of one worker; see the module docstring."""

    def __init__(
        self,
        key: WorkerKey,
        *,
        timeframe_s: int,
        market: Connector,
        clock: Clock,
        group: StrategyGroup,
        trader: AccountTrader,
        admission: DeficitRoundRobin | None = None,
        timing: WorkerTiming | None = None,
        snapshots: WorkerSnapshots | None = None,
    ) -> None:
        self.key = key
        self.timeframe_s = timeframe_s
        self.market = market
        self.clock = clock
        self.group = group
        self.trader = trader
        self.admission = admission
        self.timing = timing or WorkerTiming()
        self.snapshots = snapshots
        self.restored_from_snapshot = False
        self.state = WorkerState.STARTING
        self.last_bar_end_ts = 0.0
        self.bars_seen = 0
        self.stale_bars = 0
        self.decisions = 0
        self.paused = False

    async def run(self) -> None:
        """Resume from a snapshot or warm up, then handle every bar close until cancelled."""
        await self.start()
        try:
            await self._bar_loop()
        finally:
            self.save_snapshot()

    async def start(self) -> None:
        """Resume from a snapshot or warm up; then the worker is running (or paused)."""
        if not self._restore():
            await self.warm_up()
        self.state = WorkerState.PAUSED if self.paused else WorkerState.RUNNING

    def next_close(self) -> float:
        """The next bar close this worker handles (its decision is ``settle_delay_s`` later)."""
        return next_bar_close(
            max(self.clock.now() - self.timing.settle_delay_s, self.last_bar_end_ts),
            self.timeframe_s,
        )

    async def _bar_loop(self) -> None:
        while True:
            close_ts = self.next_close()
            await self.clock.sleep_until(close_ts + self.timing.settle_delay_s)
            await self.on_bar_close(close_ts)

    def save_snapshot(self) -> None:
        """Persist the streaming state (if snapshots are on and a bar was seen)."""
        if self.snapshots is not None and self.last_bar_end_ts:
            self.snapshots.save(
                self.key.label,
                self.group,
                last_bar_end_ts=self.last_bar_end_ts,
                bars_seen=self.bars_seen,
            )

    def _restore(self) -> bool:
        if self.snapshots is None:
            return False
        oldest = self.clock.now() - self.timing.catch_up_bars * self.timeframe_s
        restored = self.snapshots.restore(self.key.label, self.group, not_before_ts=oldest)
        if restored is None:
            return False
        self.last_bar_end_ts = restored.last_bar_end_ts
        self.bars_seen = restored.bars_seen
        self.restored_from_snapshot = True
        log.info(
            "%s resumed from its snapshot at bar %.0f", self.key.label, restored.last_bar_end_ts
        )
        return True

    async def warm_up(self) -> None:
        """Feed enough closed history to the strategies that the next bar is tradable."""
        self.group.reset()
        self.last_bar_end_ts = 0.0
        warmup = max((host.warmup_bars for host in self.group.hosts), default=0)
        count = warmup + self.timing.warmup_extra_bars
        now = self.clock.now()
        candles = await self._fetch(count=count, end_ts=now)
        self._replay([c for c in candles if c.end_ts <= now])

    async def on_bar_close(self, close_ts: float) -> None:
        """Handle the bar that closed at ``close_ts`` (and any bars missed before it)."""
        due = await self.collect(close_ts)
        if due is None:
            return
        if due.tradable:
            await self.trader.prepare()
        decide([due])

    async def collect(self, close_ts: float) -> Due | None:
        """The I/O half of a bar close: fetch the closed candles, replay missed bars into
        the indicators, and return the bar that closed at ``close_ts`` for the decision
        step (None when it is missing, or the indicators were rebuilt instead)."""
        missed = int((close_ts - self.last_bar_end_ts) // self.timeframe_s)
        if self.last_bar_end_ts and missed > self.timing.catch_up_bars:
            log.warning("%s missed %d bars: rebuilding indicators", self.key.label, missed)
            await self.warm_up()
            return None
        try:
            candles = await self._fetch(
                count=max(2, min(missed + 1, self.timing.catch_up_bars)), end_ts=close_ts
            )
        except ConnectorError as error:
            self.trader.connector_failed(error)
            log.warning("%s: candles unavailable at %.0f: %r", self.key.label, close_ts, error)
            return None
        fresh = [c for c in candles if self.last_bar_end_ts < c.end_ts <= close_ts]
        if not fresh or fresh[-1].end_ts != close_ts:
            self.stale_bars += 1
            self.trader.bar_missing(self.key, close_ts)
            self._replay(fresh)
            return None
        self._replay(fresh[:-1])
        return self._due(fresh[-1], close_ts)

    def _due(self, bar: Candle, close_ts: float) -> Due:
        """The closed bar for the step; tradable unless paused or too late."""
        lag_s = self.clock.now() - close_ts
        self.trader.bar_lag(self.key, lag_s)
        tradable = not self.paused and lag_s <= self.timing.max_decision_delay_s
        if tradable:
            self.decisions += 1
        elif not self.paused:
            self.stale_bars += 1
            log.info(
                "%s: bar %.0f arrived %.1f s late; not trading it", self.key.label, close_ts, lag_s
            )
        return Due(self, bar, close_ts, tradable)

    def _replay(self, candles: Sequence[Candle]) -> None:
        for candle in candles:
            self.group.on_bar(candle)
            self.seen(candle)

    def seen(self, candle: Candle) -> None:
        """``candle`` went into the indicators: the worker's position moves past it."""
        self.last_bar_end_ts = candle.end_ts
        self.bars_seen += 1
        if self.snapshots is not None and self.bars_seen % self.snapshots.every_bars == 0:
            self.save_snapshot()

    async def _fetch(self, *, count: int, end_ts: float) -> Sequence[Candle]:
        if self.admission is not None:
            await self.admission.acquire(self.key.account_id)
        started = self.clock.now()
        try:
            candles = await self.market.candles(
                self.key.instrument, self.timeframe_s, count=count, end_ts=end_ts
            )
        except ConnectorError as error:
            self.trader.risk_connector_error(
                self.key.account_id, classify_error(error), self.clock.now() - started
            )
            raise
        except TimeoutError as error:
            raise ConnectorError(f"candles timed out: {error}") from error
        self.trader.risk_connector_ok(self.key.account_id, self.clock.now() - started)
        return candles
