"""PaperBroker: fixed-time contracts settled on another source's prices, with its own book.

The paper broker is a :class:`Connector`: market data (instruments, candles, ticks,
server time) comes from a *source* connector, while orders are held in MoonLight's own
:class:`~moonlight.core.connectors.paper_book.PaperBook` and settled on a
:class:`~moonlight.core.connectors.feeds.PriceFeed` of the source's prices. The executor
cannot tell it from a real broker, which is the point: paper trading exercises exactly
the code that trades live.

Settlement rule (shared with the mock, :mod:`moonlight.core.connectors.settlement`):

* the stake is debited when the order is accepted; ``accepted_ts`` is the paper broker's
  clock at that moment and ``expires_ts = accepted_ts + duration_s``;
* **entry price** = the first price strictly after ``accepted_ts``;
* **exit price** = the prevailing price at ``expires_ts`` (last price at or before it);
  with no price between acceptance and expiry the exit is the entry (a push);
* ``up`` wins when exit > entry, ``down`` when exit < entry, equal is a push; a win
  credits ``stake × (1 + payout_pct/100)``, a push returns the stake, a loss nothing.

The contract settles as soon as the feed has every price up to expiry, or at the latest
``price_grace_s`` after expiry with whatever price it has. A contract whose prices can
never be known (a tick feed that was not recording when it opened, e.g. across a
restart) is refunded as ``abort`` with the reason in the log; that cannot happen with a
replayable feed (the seeded market, a replayed series). Because the book is persisted
(:class:`~moonlight.core.connectors.paper_book.SqlPaperBook`), balances and open
contracts survive a restart and are settled after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from moonlight.core.connectors.contract import (
    AccountKind,
    Ambiguous,
    Balance,
    BrokerAccount,
    BrokerOrder,
    BrokerOrderStatus,
    Candle,
    Connector,
    Disconnected,
    Instrument,
    OrderAck,
    OrderRequest,
    Rejected,
    Settlement,
    Tick,
    Transient,
)
from moonlight.core.connectors.feeds import MarketFeed, PriceFeed, TickRecorder
from moonlight.core.connectors.paper_book import (
    ContractRecord,
    DuplicateContract,
    InsufficientFunds,
    PaperBook,
)
from moonlight.core.connectors.settlement import settle_contract
from moonlight.core.connectors.streams import Subscription
from moonlight.core.orders import Outcome
from moonlight.core.runtime.clock import Clock
from moonlight.core.storage.errors import StorageUnavailable

log = logging.getLogger("moonlight.connectors.paper")
_R = TypeVar("_R")


def _view(record: ContractRecord) -> BrokerOrder:
    settlement = _settlement(record)
    return BrokerOrder(
        broker_order_id=record.broker_order_id,
        client_req_id=record.client_req_id,
        account_id=record.account_id,
        instrument=record.instrument,
        direction=record.direction,
        stake=record.stake,
        duration_s=record.duration_s,
        payout_pct=record.payout_pct,
        accepted_ts=record.accepted_ts,
        expires_ts=record.expires_ts,
        status=BrokerOrderStatus.OPEN if settlement is None else BrokerOrderStatus.SETTLED,
        entry_price=record.entry_price,
        settlement=settlement,
    )


def _settlement(record: ContractRecord) -> Settlement | None:
    if record.outcome is None or record.pnl is None or record.settled_ts is None:
        return None
    return Settlement(
        broker_order_id=record.broker_order_id,
        client_req_id=record.client_req_id,
        account_id=record.account_id,
        outcome=record.outcome,
        pnl=record.pnl,
        entry_price=record.entry_price,
        exit_price=record.exit_price,
        settled_ts=record.settled_ts,
    )


class PaperBroker(Connector):
    """Paper trading on a source connector's prices; see the module docstring."""

    name = "paper"

    def __init__(
        self,
        *,
        source: Connector,
        book: PaperBook,
        clock: Clock,
        feed: PriceFeed | None = None,
        poll_interval_s: float = 0.5,
        price_grace_s: float = 10.0,
        instrument_ttl_s: float = 60.0,
        owns_source: bool = True,
    ) -> None:
        self.source = source
        self.book = book
        self.clock = clock
        self.feed = feed
        self._poll_interval_s = poll_interval_s
        self._price_grace_s = price_grace_s
        self._instrument_ttl_s = instrument_ttl_s
        self._owns_source = owns_source
        self._instruments: dict[str, Instrument] = {}
        self._instruments_at: float | None = None
        self._open: dict[str, ContractRecord] = {}
        self._due: list[tuple[float, str]] = []
        self._settlement_subs: dict[str, list[Subscription[Settlement]]] = {}
        self._recording: dict[str, asyncio.Task[None]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._connected = False

    # -- life cycle -------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect the source, pick the price feed, load open contracts, start settling."""
        await self.source.connect()
        if self.feed is None:
            market = getattr(self.source, "market", None)
            if market is not None:
                self.feed = MarketFeed(market, self.clock)
            else:
                self.feed = TickRecorder()
        self._open.clear()
        self._due.clear()
        for record in self.book.open_contracts():
            self._track(record)
            self._ensure_recording(record.instrument)
        self._connected = True
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def close(self) -> None:
        """Stop settling and recording, end subscriptions, close an owned source."""
        self._connected = False
        tasks = [t for t in [self._pump, *self._recording.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pump = None
        self._recording.clear()
        for subs in self._settlement_subs.values():
            for sub in list(subs):
                sub.end()
        if self._owns_source:
            await self.source.close()

    # -- market data: the source's ------------------------------------------------------

    async def server_time(self) -> float:
        return await self.source.server_time()

    async def instruments(self) -> Sequence[Instrument]:
        return await self.source.instruments()

    async def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> Sequence[Candle]:
        return await self.source.candles(instrument, timeframe_s, count=count, end_ts=end_ts)

    def subscribe_candles(self, instrument: str, timeframe_s: int) -> AsyncIterator[Candle]:
        return self.source.subscribe_candles(instrument, timeframe_s)

    def subscribe_ticks(self, instrument: str) -> AsyncIterator[Tick]:
        return self.source.subscribe_ticks(instrument)

    # -- orders: the paper book's -------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        self._require_connected()
        instrument = await self._instrument(request.instrument)
        problem = instrument.check(request.stake, request.duration_s)
        if problem is not None:
            raise Rejected(problem)
        if request.min_payout_pct is not None and instrument.payout_pct < request.min_payout_pct:
            raise Rejected(
                f"payout {instrument.payout_pct:g}% below requested {request.min_payout_pct:g}%"
            )
        now = self.clock.now()
        record = ContractRecord(
            broker_order_id=f"P-{request.client_req_id}",
            client_req_id=request.client_req_id,
            account_id=request.account_id,
            instrument=request.instrument,
            direction=request.direction,
            stake=request.stake,
            payout_pct=instrument.payout_pct,
            duration_s=request.duration_s,
            accepted_ts=now,
            expires_ts=now + request.duration_s,
        )
        try:
            self.book.open_contract(record)
        except DuplicateContract:
            raise Rejected(f"duplicate client_req_id {request.client_req_id!r}") from None
        except InsufficientFunds as error:
            raise Rejected(f"insufficient funds: {error}") from None
        except StorageUnavailable as error:
            # The commit may or may not have reached the disk: the caller must reconcile.
            raise Ambiguous(f"paper book write failed: {error}") from error
        self._track(record)
        self._ensure_recording(record.instrument)
        return _view(record).ack()

    async def order_status(self, account_id: str, broker_order_id: str) -> BrokerOrder | None:
        self._require_connected()
        self._settle_due()
        record = self._open.get(broker_order_id) or self._read(self.book.get, broker_order_id)
        if record is None or record.account_id != account_id:
            return None
        return _view(record)

    async def find_order(self, request: OrderRequest) -> BrokerOrder | None:
        self._require_connected()
        self._settle_due()
        record = self._read(self.book.by_client, request.client_req_id)
        return None if record is None else _view(record)

    async def open_orders(self, account_id: str) -> Sequence[BrokerOrder]:
        self._require_connected()
        self._settle_due()
        return [_view(r) for r in self._open.values() if r.account_id == account_id]

    def subscribe_settlements(self, account_id: str) -> AsyncIterator[Settlement]:
        group = self._settlement_subs.setdefault(account_id, [])
        sub: Subscription[Settlement] = Subscription(on_close=group.remove)
        group.append(sub)
        return sub

    async def balance(self, account_id: str) -> Balance:
        self._require_connected()
        self._settle_due()
        amount, currency = self._read(self.book.balance, account_id)
        return Balance(account_id, amount, currency)

    async def account_info(self, account_id: str) -> BrokerAccount:
        """Every paper account is MoonLight's own: kind ``paper``, whatever the source is."""
        balance = await self.balance(account_id)
        return BrokerAccount(account_id, AccountKind.PAPER, balance.currency, balance.amount)

    @property
    def connection_epoch(self) -> int:
        """The paper book never reconnects: one epoch once connected."""
        return 1 if self._connected else 0

    # -- internals --------------------------------------------------------------------

    def _require_connected(self) -> None:
        if not self._connected:
            raise Disconnected("paper broker is not connected")

    def _read(self, method: Callable[[str], _R], key: str) -> _R:
        """A book read; a storage fault is a transient failure for the caller."""
        try:
            return method(key)
        except StorageUnavailable as error:
            raise Transient(f"paper book unavailable: {error}") from error

    async def _instrument(self, symbol: str) -> Instrument:
        now = self.clock.now()
        stale = self._instruments_at is None or now - self._instruments_at > self._instrument_ttl_s
        if stale or symbol not in self._instruments:
            self._instruments = {i.symbol: i for i in await self.source.instruments()}
            self._instruments_at = now
        try:
            return self._instruments[symbol]
        except KeyError:
            raise Rejected(f"unknown instrument {symbol!r}") from None

    def _track(self, record: ContractRecord) -> None:
        self._open[record.broker_order_id] = record
        heapq.heappush(self._due, (record.expires_ts, record.broker_order_id))

    def _ensure_recording(self, instrument: str) -> None:
        if not isinstance(self.feed, TickRecorder) or instrument in self._recording:
            return
        self.feed.start(instrument, self.clock.now())
        loop = asyncio.get_running_loop()
        self._recording[instrument] = loop.create_task(self._record(instrument, self.feed))

    async def _record(self, instrument: str, recorder: TickRecorder) -> None:
        """Record the source's ticks, subscribing again after every disconnect."""
        while True:
            try:
                async for tick in self.source.subscribe_ticks(instrument):
                    recorder.record(tick)
            except Disconnected:
                pass
            await self.clock.sleep_until(self.clock.now() + self._poll_interval_s)

    async def _run_pump(self) -> None:
        while True:
            await self.clock.sleep_until(self.clock.now() + self._poll_interval_s)
            if isinstance(self.feed, TickRecorder):
                self._capture_entries(self.feed)
            self._settle_due()

    def _capture_entries(self, recorder: TickRecorder) -> None:
        """Persist entry prices as soon as they are heard: a restart loses the recording."""
        for broker_id, record in list(self._open.items()):
            if record.entry_price is not None:
                continue
            tick = recorder.first_after(record.instrument, record.accepted_ts)
            if tick is None:
                continue
            try:
                self.book.set_entry(broker_id, tick.price)
            except StorageUnavailable as error:
                log.error("paper book unavailable, entry of %s not saved: %s", broker_id, error)
                continue
            self._open[broker_id] = replace(record, entry_price=tick.price)

    def _settle_due(self) -> None:
        """Price every contract whose expiry has passed and whose prices are final, and
        settle them all in one book transaction (an instant's settlements at once)."""
        feed = self.feed
        if feed is None:
            return
        now = self.clock.now()
        waiting: list[tuple[float, str]] = []
        priced: list[tuple[float, ContractRecord, float]] = []
        while self._due and self._due[0][0] <= now:
            expires_ts, broker_id = heapq.heappop(self._due)
            record = self._open.get(broker_id)
            if record is None:
                continue
            settled = self._price(record, feed, now)
            if settled is None:
                waiting.append((expires_ts, broker_id))
            else:
                priced.append((expires_ts, *settled))
        if priced:
            try:
                self.book.settle_many([(record, credit) for _, record, credit in priced])
            except StorageUnavailable as error:
                log.error("paper book unavailable, %d settlement(s) deferred: %s", len(priced),
                          error)  # fmt: skip
                waiting.extend((expires_ts, r.broker_order_id) for expires_ts, r, _ in priced)
            else:
                for _, record, _ in priced:
                    self._finish(record)
        for item in waiting:
            heapq.heappush(self._due, item)

    def _price(
        self, record: ContractRecord, feed: PriceFeed, now: float
    ) -> tuple[ContractRecord, float] | None:
        """``record`` settled and the credit due, if its prices are known; None to try
        again later."""
        instrument = record.instrument
        overdue = now >= record.expires_ts + self._price_grace_s
        entry = record.entry_price
        if entry is None:
            if record.accepted_ts < feed.known_from(instrument):
                return self._refund(record, now, "no price history for the contract's opening")
            entry_tick = feed.first_after(instrument, record.accepted_ts)
            if entry_tick is None:
                if overdue:
                    return self._refund(record, now, "no price after acceptance")
                return None
            entry = entry_tick.price
        if record.expires_ts < feed.known_from(instrument):
            return self._refund(record, now, "no price history at the contract's expiry")
        if feed.known_until(instrument) < record.expires_ts and not overdue:
            return None
        exit_tick = feed.last_at_or_before(instrument, record.expires_ts)
        exit_price = entry
        if exit_tick is not None and exit_tick.ts > record.accepted_ts:
            exit_price = exit_tick.price
        result = settle_contract(
            record.direction, record.stake, record.payout_pct, entry, exit_price
        )
        settled = replace(
            record,
            entry_price=entry,
            exit_price=exit_price,
            outcome=result.outcome,
            pnl=result.pnl,
            settled_ts=now,
        )
        return settled, result.credit

    def _refund(
        self, record: ContractRecord, now: float, reason: str
    ) -> tuple[ContractRecord, float]:
        log.warning("paper contract %s refunded (abort): %s", record.broker_order_id, reason)
        return replace(record, outcome=Outcome.ABORT, pnl=0.0, settled_ts=now), record.stake

    def _finish(self, settled: ContractRecord) -> None:
        self._open.pop(settled.broker_order_id, None)
        settlement = _settlement(settled)
        assert settlement is not None
        for sub in list(self._settlement_subs.get(settled.account_id, ())):
            sub.put(settlement)
