"""DerivConnector: MoonLight's connector contract on Deriv's documented WebSocket API.

One instance trades one Deriv account over one socket (Deriv's best practice), kept
alive by a :class:`~moonlight.connectors.deriv.link.Link`.

* **Orders**: ``proposal`` (stake basis, ``CALL``/``PUT`` or ``CALLE``/``PUTE``, duration
  in seconds) → ``buy`` at the proposal's ask price (the maximum price: no slippage
  unless ``max_price_slippage_pct``), with ``passthrough: {client_req_id}``. A buy that
  was written but not answered raises :class:`Ambiguous` and is never re-sent; the
  order is found again by :meth:`find_order` (see
  :mod:`~moonlight.connectors.deriv.correlation`). An identical order is refused while
  one is unresolved (an atomic reservation taken before pricing).
* **PriceMoved**: a buy refused because the market moved is priced again *once*; the new
  quote is bought only if it is within ``price_moved_slippage_pct`` of the first (payout
  not lower, ask price not higher, by more than that percentage) and still meets the
  decision's minimum payout; otherwise the order is ``Rejected(code="price_moved")``.
* **Settlement**: every bought contract is watched with a ``proposal_open_contract``
  subscription; its final state (``won``/``lost``/``sold``/``cancelled``) becomes one
  :class:`Settlement`. A watched contract still open ``settle_check_s`` after expiry is
  looked up, so a lost push costs seconds, not a result.
* **Storage**: given the engine's ``sessions``, a lookup first binds every found contract
  that storage already holds under an order, so a new process never matches one deal to
  two orders.
* **Reconnect**: before the link reports ready again, every market-data feed is
  re-subscribed (with back-fill) and open contracts are reconciled: ``portfolio`` lists
  what is still open (watched again), contracts watched before the drop that are no
  longer open are looked up and settled, and ambiguous sends are matched against
  ``portfolio`` + every page of ``profit_table`` since the decision (a contract that
  settled during an outage is found with its real result).
* **Safety**: only hosts in ``allowed_hosts``; demo by default; an order on a real
  account, or on an account of the other kind than ``account_type``, is refused before
  anything is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as DbSession, sessionmaker

from moonlight.connectors.deriv import codec
from moonlight.connectors.deriv.auth import OtpSource, RestOtpSource
from moonlight.connectors.deriv.config import LEGACY_GRANULARITIES_S, DerivConfig
from moonlight.connectors.deriv.correlation import Correlation
from moonlight.connectors.deriv.errors import PRICE_MOVED, RATE_LIMIT_CODES, error_for
from moonlight.connectors.deriv.feeds import CandleFeed, TickFeed
from moonlight.connectors.deriv.link import Link, LinkState
from moonlight.connectors.deriv.protocol import Message, ProtocolError, integer, number
from moonlight.connectors.deriv.ratelimit import RateLimiter
from moonlight.connectors.deriv.symbols import SymbolBook, symbol_key
from moonlight.connectors.deriv.transport import (
    ConnectionLost,
    ReplyTimeout,
    Session,
    SessionStats,
)
from moonlight.core.connectors.contract import (
    AccountKind,
    Ambiguous,
    AuthFailed,
    Balance,
    BrokerAccount,
    BrokerOrder,
    Candle,
    Connector,
    ConnectorError,
    Disconnected,
    Instrument,
    OrderAck,
    OrderRequest,
    RateLimited,
    Rejected,
    Settlement,
    Tick,
    Transient,
)
from moonlight.core.connectors.streams import Subscription
from moonlight.core.orders import Direction
from moonlight.core.runtime.clock import Clock, WallClock
from moonlight.core.storage.models import Order
from moonlight.core.telemetry.pii import register_sensitive

log = logging.getLogger("moonlight.connectors.deriv")

P = ParamSpec("P")
T = TypeVar("T")

#: Deriv's usual stake limits (USD), used only when a proposal omits its own.
FALLBACK_STAKE_MIN = 0.35
FALLBACK_STAKE_MAX = 50_000.0
UNKNOWN_CONTRACT_CODES = frozenset({"InvalidContractId", "ContractNotFound", "InvalidContract"})
MAX_SETTLED_MEMORY = 100_000
#: How often a restoring connection waits out a spent call budget before giving up.
RESTORE_RATE_RETRIES = 20
#: A patient call waits out a spent budget only if it refills within this many seconds.
PATIENT_MAX_WAIT_S = 5.0
#: Seconds a portfolio + profit_table fetch answers further lookups (one budget, shared).
LOOKUP_CACHE_S = 1.0
#: Most profit_table pages one lookup reads (pages of ``history_page_size`` rows).
MAX_HISTORY_PAGES = 50


@dataclass(frozen=True)
class _Lookup:
    """One fetch of open + recently closed contracts (see ``_lookup_contracts``)."""

    fetched_at: float
    since_ts: float
    session: Session
    views: list[codec.ContractView]


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a shared task's exception as seen (every waiter re-raises it itself)."""
    if not task.cancelled():
        task.exception()


@dataclass
class _Watch:
    """A contract followed with a proposal_open_contract stream."""

    contract_id: str
    expiry_ts: float
    session: Session | None = None
    req_id: int | None = None
    checked_ts: float = 0.0


class DerivConnector(Connector):
    """Deriv's documented API behind MoonLight's connector contract (module docstring)."""

    name = "deriv"

    def __init__(
        self,
        config: DerivConfig,
        *,
        token: str | Callable[[], str],
        clock: Clock | None = None,
        otp: OtpSource | None = None,
        rng: random.Random | None = None,
        sessions: sessionmaker[DbSession] | None = None,
    ) -> None:
        self.config = config
        self._sessions = sessions
        self.clock: Clock = clock or WallClock()
        self._token_source = token
        self.session_stats = SessionStats()
        self.limiter = RateLimiter(config.rate_limits, max_wait_s=config.rate_wait_s)
        if config.api == "new" and otp is None:
            assert config.deriv_account_id is not None
            otp = RestOtpSource(
                config.rest_url,
                config.deriv_account_id,
                app_id=config.app_id,
                timeout_s=config.request_timeout_s,
                use_system_proxy=config.use_system_proxy,
                default_retry_s=config.rate_limit_retry_s,
            )
        self.link = Link(
            config,
            limiter=self.limiter,
            session_stats=self.session_stats,
            token=self._token,
            otp=otp,
            restore=self._restore,
            on_orphan=self._on_orphan,
            rng=rng,
        )
        self.link.observers.append(self._on_state)
        self.correlation = Correlation(
            match_window_s=config.match_window_s, clock_margin_s=config.clock_margin_s
        )
        self._symbols = SymbolBook(config.symbols)
        self._candle_feeds: dict[tuple[str, int], CandleFeed] = {}
        self._tick_feeds: dict[str, TickFeed] = {}
        self._settlement_subs: list[tuple[str, Subscription[Settlement]]] = []
        self._watched: dict[str, _Watch] = {}
        self._settled: OrderedDict[str, None] = OrderedDict()
        self._offset_s = 0.0
        self._instrument_cache: tuple[float, list[Instrument]] | None = None
        self._lookup_cache: _Lookup | None = None
        self._lookup_task: asyncio.Task[list[codec.ContractView]] | None = None
        self._lookup_session: Session | None = None
        self._lookup_since = 0.0
        self._reconciled_once = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    # -- state report -----------------------------------------------------------------

    @property
    def state(self) -> LinkState:
        """Where the connection is (``ready`` means orders may be sent)."""
        return self.link.state

    def report(self) -> dict[str, Any]:
        """A JSON-ready snapshot of the connection for dashboards and logs."""
        stats = self.link.stats
        auth = self.link.authorization
        return {
            "state": self.state.value,
            "failure": self.link.failure,
            "account_kind": None if auth is None else ("demo" if auth.is_virtual else "real"),
            "connect_attempts": stats.connect_attempts,
            "connections": stats.connections,
            "drops": stats.drops,
            "failed_attempts": stats.failed_attempts,
            "last_error": stats.last_error,
            "requests": dict(self.session_stats.sent),
            "bad_frames": self.session_stats.bad_frames,
            "watched_contracts": len(self._watched),
            "unresolved_orders": len(self.correlation.unresolved()),
            "rate_limit_refusals": self.limiter.refused,
        }

    # -- life cycle -------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect, authorise and reconcile; returns once orders may be sent."""
        if self._closed:
            raise Disconnected("deriv: connector closed")
        if self.state is LinkState.READY:
            return
        try:
            await self.link.start()
        except Disconnected:
            await self.link.stop(final=False)
            raise
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def close(self) -> None:
        """Close the socket and end every subscription."""
        self._closed = True
        await self.link.stop()
        tasks = [
            *self._tasks,
            *([self._sweeper] if self._sweeper else []),
            *([self._lookup_task] if self._lookup_task else []),
        ]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._sweeper = None
        self._end_all(None)

    def _token(self) -> str:
        source = self._token_source
        try:
            token = source() if callable(source) else source
        except KeyError as error:
            raise AuthFailed(f"deriv: API token unavailable: {error}") from error
        if not token:
            raise AuthFailed("deriv: the API token is empty")
        register_sensitive(token, "deriv_token")  # masked in every log line, wire logs too
        return token

    def _on_state(self, state: LinkState, detail: str | None) -> None:
        log.info("deriv: connection %s%s", state.value, f" ({detail})" if detail else "")
        if state is LinkState.FAILED:
            self._end_all(AuthFailed(detail or "deriv: connection failed"))

    def _end_all(self, error: ConnectorError | None) -> None:
        feeds = [*self._candle_feeds.values(), *self._tick_feeds.values()]
        for feed in feeds:
            if error is None:
                feed.end()
            else:
                feed.fail(error)
        self._candle_feeds.clear()
        self._tick_feeds.clear()
        for _, subscription in list(self._settlement_subs):
            if error is None:
                subscription.end()
            else:
                subscription.fail(error)
        self._settlement_subs.clear()

    # -- market data ------------------------------------------------------------------

    async def server_time(self) -> float:
        message = await self._query({"time": 1}, call="time")
        server = float(self._decode(integer, message.result("time"), "time"))
        self._offset_s = _offset(server, self.clock.now())
        return server

    async def instruments(self) -> Sequence[Instrument]:
        loop_now = asyncio.get_running_loop().time()
        cached = self._instrument_cache
        if cached is not None and loop_now - cached[0] < self.config.instrument_cache_s:
            return cached[1]
        message = await self._query({"active_symbols": "brief"}, call="active_symbols")
        infos = self._decode(codec.active_symbols, message.result())
        result = [
            await self._instrument(infos[symbol_key(s)], s)
            for s in self.config.symbols
            if symbol_key(s) in infos
        ]
        for missing in (s for s in self.config.symbols if symbol_key(s) not in infos):
            log.warning("deriv: symbol %s is not among active_symbols", missing)
        self._instrument_cache = (loop_now, result)
        return result

    async def _instrument(self, info: codec.SymbolInfo, configured: str) -> Instrument:
        config = self.config
        reply = await self._query(
            {"contracts_for": info.symbol, "currency": config.currency},
            call="contracts_for",
            tolerate=frozenset({"InvalidSymbol", "MarketIsClosed", "OfferingsValidationError"}),
        )
        bounds = None if reply.is_error else self._decode(codec.rise_fall_durations, reply.result())
        durations = codec.offered_durations(config.durations_s, bounds)
        payout_pct, stake_min, stake_max = 0.0, FALLBACK_STAKE_MIN, FALLBACK_STAKE_MAX
        is_open = info.is_open and bool(durations)
        if is_open:
            try:
                quote = await self._proposal(
                    self.link.session(ready=False),
                    info.symbol,
                    Direction.UP,
                    config.quote_stake,
                    durations[0],
                )
            except Rejected as error:
                log.info("deriv: %s not quotable: %s", info.symbol, error)
                is_open = False
            else:
                payout_pct = quote.payout_pct
                stake_min = quote.stake_min if quote.stake_min is not None else stake_min
                stake_max = quote.stake_max if quote.stake_max is not None else stake_max
        return Instrument(
            symbol=configured,
            payout_pct=payout_pct,
            stake_min=stake_min,
            stake_max=stake_max,
            durations_s=durations,
            currency=config.currency,
            is_open=is_open,
            digits=codec.digits_of(info.pip),
        )

    async def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> Sequence[Candle]:
        self._check_granularity(timeframe_s)
        if count <= 0:
            return []
        request: dict[str, Any] = {
            "ticks_history": instrument,
            "style": "candles",
            "granularity": timeframe_s,
            "count": min(count + 1, 5000),
            "end": "latest" if end_ts is None else int(end_ts),
        }
        message = await self._query(request, call="ticks_history")
        candles = self._decode(codec.candles, message.result("candles"), instrument, timeframe_s)
        horizon = self._server_now() if end_ts is None else min(end_ts, self._server_now())
        closed = [c for c in candles if c.end_ts <= horizon]
        return closed[-count:]

    def subscribe_candles(self, instrument: str, timeframe_s: int) -> AsyncIterator[Candle]:
        self._check_granularity(timeframe_s)
        key = (instrument, timeframe_s)
        feed = self._candle_feeds.get(key)
        if feed is None:
            feed = CandleFeed(instrument, timeframe_s, self._server_now)
            if self._usable_for_streams():
                self._candle_feeds[key] = feed
                self._spawn(self._start_feed_when_possible(feed))
        return self._feed_subscription(feed)

    def subscribe_ticks(self, instrument: str) -> AsyncIterator[Tick]:
        feed = self._tick_feeds.get(instrument)
        if feed is None:
            feed = TickFeed(instrument, self._server_now)
            if self._usable_for_streams():
                self._tick_feeds[instrument] = feed
                self._spawn(self._start_feed_when_possible(feed))
        return self._feed_subscription(feed)

    def _feed_subscription(self, feed: CandleFeed | TickFeed) -> Subscription[Any]:
        subscription: Subscription[Any] = Subscription(
            on_close=functools.partial(self._unsubscribe, feed)
        )
        feed.add(subscription)
        self._end_if_unusable(subscription)
        return subscription

    def _usable_for_streams(self) -> bool:
        return not self._closed and self.state is not LinkState.FAILED

    def _end_if_unusable(self, subscription: Subscription[Any]) -> None:
        """A stream asked of a closed or failed connector ends at once (never hangs)."""
        if self._closed:
            subscription.end()
        elif self.state is LinkState.FAILED:
            subscription.fail(AuthFailed(self.link.failure or "deriv: connection failed"))

    def _check_granularity(self, timeframe_s: int) -> None:
        if self.config.api == "legacy" and timeframe_s not in LEGACY_GRANULARITIES_S:
            raise Rejected(
                f"deriv: candles of {timeframe_s} s are not offered by the legacy API"
                f" (granularities: {list(LEGACY_GRANULARITIES_S)})"
            )

    async def _start_feed_when_possible(self, feed: CandleFeed | TickFeed) -> None:
        """Start a new feed now if connected (a reconnect's restore starts it otherwise)."""
        attempt = 0
        while feed.subscribers or attempt == 0:
            try:
                session = self.link.session(ready=False)
            except ConnectorError:
                return
            if feed.session is session:
                return
            try:
                await self._start_feed(session, feed)
                return
            except (Transient, RateLimited) as error:
                delay = getattr(error, "retry_after_s", 0.0) or min(30.0, 0.5 * 2**attempt)
                attempt += 1
                await asyncio.sleep(delay)
            except ConnectorError as error:
                log.info("deriv: feed %s not started now: %r", feed.instrument, error)
                return

    async def _start_feed(self, session: Session, feed: CandleFeed | TickFeed) -> None:
        message = await self._query(
            feed.request(),
            call="ticks_history",
            session=session,
            stream=feed.on_message,
            raise_errors=False,
        )
        if message.is_error:
            error = self._error(message, "ticks_history")
            if isinstance(error, Rejected):
                feed.fail(error)
                self._forget_feed(feed)
                return
            raise error
        feed.session, feed.req_id = session, message.req_id
        feed.on_message(message)

    def _unsubscribe(self, feed: CandleFeed | TickFeed, subscription: Subscription[Any]) -> None:
        feed.remove(subscription)
        if feed.subscribers:
            return
        self._forget_feed(feed)
        session, req_id = feed.session, feed.req_id
        if session is not None and req_id is not None and not session.closed:
            sub_id = session.forget(req_id)
            if sub_id is not None:
                self._spawn(self._forget_stream(session, sub_id))

    def _forget_feed(self, feed: CandleFeed | TickFeed) -> None:
        if isinstance(feed, CandleFeed):
            if self._candle_feeds.get((feed.instrument, feed.timeframe_s)) is feed:
                del self._candle_feeds[(feed.instrument, feed.timeframe_s)]
        elif self._tick_feeds.get(feed.instrument) is feed:
            del self._tick_feeds[feed.instrument]

    async def _forget_stream(self, session: Session, sub_id: str) -> None:
        with contextlib.suppress(ConnectorError):
            await self._query({"forget": sub_id}, call="forget", session=session)

    # -- orders -----------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        self._check_account()
        cid = request.client_req_id
        known = self.correlation.contract_of(cid)
        if known is not None:
            view = await self._contract(self.link.session(ready=False), known)
            if view is None:
                raise Transient(f"deriv: contract {known} of {cid} not visible yet")
            return view.broker_order(cid, request.account_id).ack()
        if self.correlation.is_unresolved(cid):
            raise Ambiguous(f"deriv: an earlier send of {cid} is unresolved; never re-sent")
        self.correlation.reserve(request, self._server_now())  # atomic: no await before
        try:
            purchase = await self._quote_and_buy(request)
        finally:
            self.correlation.release_unwritten(cid)
        self.correlation.bind(cid, purchase.contract_id, request.account_id)
        expires = purchase.expiry_ts or purchase.start_ts + request.duration_s
        self._spawn(self._watch_soon(purchase.contract_id, expires))
        return OrderAck(
            client_req_id=cid,
            broker_order_id=purchase.contract_id,
            accepted_ts=purchase.start_ts,
            expires_ts=expires,
            payout_pct=purchase.payout_pct,
            stake=purchase.buy_price,
        )

    async def _quote_and_buy(self, request: OrderRequest) -> codec.Purchase:
        """Price and buy; on ``PriceMoved`` price once more (the module's policy)."""
        session = self.link.session(ready=True)
        first = await self._quote(session, request)
        try:
            return await self._buy(session, request, first.proposal_id, self._max_price(first))
        except Rejected as refusal:
            if refusal.code != PRICE_MOVED:
                raise
            moved = refusal
        again = await self._quote(session, request)
        bound = self.config.price_moved_slippage_pct / 100.0
        if again.payout_pct < first.payout_pct * (1.0 - bound) - 1e-9 or (
            again.ask_price > first.ask_price * (1.0 + bound) + 1e-9
        ):
            raise Rejected(
                f"deriv: price moved beyond {self.config.price_moved_slippage_pct:g}%"
                f" (payout {first.payout_pct:.2f}% → {again.payout_pct:.2f}%, ask"
                f" {first.ask_price:g} → {again.ask_price:g}); {moved.reason}",
                code=PRICE_MOVED,
            )
        log.info("deriv: %s re-quoted after PriceMoved", request.client_req_id)
        return await self._buy(session, request, again.proposal_id, self._max_price(again))

    async def _quote(self, session: Session, request: OrderRequest) -> codec.Proposal:
        quote = await self._proposal(
            session, request.instrument, request.direction, request.stake, request.duration_s
        )
        if request.min_payout_pct is not None and quote.payout_pct < request.min_payout_pct:
            raise Rejected(
                f"deriv: payout {quote.payout_pct:.2f}% below the decision's"
                f" {request.min_payout_pct:.2f}%",
                code="payout_below_decision",
            )
        return quote

    def _max_price(self, quote: codec.Proposal) -> float:
        return round(quote.ask_price * (1.0 + self.config.max_price_slippage_pct / 100.0), 2)

    def _check_account(self) -> None:
        """Refuse, before anything is sent, an order on the wrong kind of account."""
        auth = self.link.authorization
        if auth is None:
            raise Disconnected("deriv: not authorised yet")
        kind = "demo" if auth.is_virtual else "real"
        if kind == "real" and not self.config.allow_real_account:
            raise Rejected(
                f"deriv: {auth.loginid} is a REAL-MONEY account and allow_real_account is"
                " false; order refused before sending"
            )
        if kind != self.config.account_type:
            raise Rejected(
                f"deriv: connected to a {kind} account ({auth.loginid}) but account_type is"
                f" {self.config.account_type!r}; order refused before sending"
            )

    async def _proposal(
        self, session: Session, symbol: str, direction: Direction, stake: float, duration_s: int
    ) -> codec.Proposal:
        payload = {
            "proposal": 1,
            "amount": stake,
            "basis": "stake",
            "contract_type": codec.contract_type(direction, allow_equal=self.config.allow_equal),
            "currency": self.config.currency,
            "duration": duration_s,
            "duration_unit": "s",
            self.config.symbol_key: symbol,
        }
        message = await self._query(payload, call="proposal", session=session)
        return self._decode(codec.proposal, message.result_object())

    async def _buy(
        self, session: Session, request: OrderRequest, proposal_id: str, price: float
    ) -> codec.Purchase:
        cid = request.client_req_id
        payload = {"buy": proposal_id, "price": price, "passthrough": {"client_req_id": cid}}
        self.correlation.sending(request, self._server_now())
        try:
            message = await session.request(
                payload, call="buy", timeout_s=self.config.buy_timeout_s
            )
        except (Disconnected, RateLimited):
            self.correlation.not_sent(cid)
            raise
        except (ConnectionLost, ReplyTimeout) as error:
            raise Ambiguous(f"deriv: buy {cid} sent, no answer: {error}") from error
        if message.is_error:
            refusal = self._error(message, "buy")
            if not isinstance(refusal, Ambiguous):
                self.correlation.not_sent(cid)
            raise refusal
        try:
            return codec.purchase(message.result_object())
        except ProtocolError as error:
            raise Ambiguous(f"deriv: unreadable buy answer for {cid}: {error}") from error

    async def order_status(self, account_id: str, broker_order_id: str) -> BrokerOrder | None:
        view = await self._contract(self.link.session(ready=False), broker_order_id)
        if view is None:
            return None
        client = self.correlation.client_of(view.contract_id)
        if view.is_final:
            self._settle(view)
        return view.broker_order(client, account_id)

    async def find_order(self, request: OrderRequest) -> BrokerOrder | None:
        session = self.link.session(ready=False)
        cid = request.client_req_id
        known = self.correlation.contract_of(cid)
        if known is not None:
            view = await self._contract(session, known)
            if view is not None:
                return view.broker_order(cid, request.account_id)
        since = request.created_ts - self.config.clock_margin_s
        views = await self._lookup_contracts(session, since)
        self._claim_stored(views)
        found = self.correlation.match(request, views)
        if found is None:
            self.correlation.hold(request)  # after a restart: blocks identical orders too
            return None
        self.correlation.bind(cid, found.contract_id, request.account_id)
        if found.is_final:
            self._settle(found)
        else:
            self._spawn(self._watch_soon(found.contract_id, found.expiry_ts))
        return found.broker_order(cid, request.account_id)

    async def open_orders(self, account_id: str) -> Sequence[BrokerOrder]:
        views = await self._portfolio(self.link.session(ready=False))
        for view in views:
            if view.contract_id not in self._watched:
                self._spawn(self._watch_soon(view.contract_id, view.expiry_ts))
        return [
            v.broker_order(self.correlation.client_of(v.contract_id), account_id) for v in views
        ]

    def subscribe_settlements(self, account_id: str) -> AsyncIterator[Settlement]:
        entry: tuple[str, Subscription[Settlement]]

        def closed(_: Subscription[Settlement]) -> None:
            with contextlib.suppress(ValueError):
                self._settlement_subs.remove(entry)

        entry = (account_id, Subscription(on_close=closed))
        self._settlement_subs.append(entry)
        self._end_if_unusable(entry[1])
        return entry[1]

    async def balance(self, account_id: str) -> Balance:
        message = await self._query({"balance": 1}, call="balance")
        body = message.result_object()
        amount = self._decode(number, body.get("balance"), "balance.balance")
        currency = body.get("currency")
        return Balance(
            account_id, amount, currency if isinstance(currency, str) else self.config.currency
        )

    async def account_info(self, account_id: str) -> BrokerAccount:
        """The authorised account as Deriv's ``authorize`` reply described it."""
        auth = self.link.authorization
        if auth is None:
            raise Disconnected("deriv: not authorised yet")
        balance = await self.balance(account_id)
        return BrokerAccount(
            account_id,
            AccountKind.DEMO if auth.is_virtual else AccountKind.REAL,
            auth.currency or balance.currency,
            balance.amount,
            broker_account_id=auth.loginid,
        )

    @property
    def connection_epoch(self) -> int:
        return self.link.stats.connections

    # -- contracts: lookup, watching, settlement ---------------------------------------

    async def _contract(self, session: Session, contract_id: str) -> codec.ContractView | None:
        message = await self._query(
            {"proposal_open_contract": 1, "contract_id": _wire_id(contract_id)},
            call="proposal_open_contract",
            session=session,
            tolerate=UNKNOWN_CONTRACT_CODES,
        )
        if message.is_error:
            return None
        body = message.result("proposal_open_contract")
        if body is None or body == {}:
            return None
        view = self._decode(codec.open_contract, message.result_object("proposal_open_contract"))
        return None if view is None else self._spelled(view)

    def _spelled(self, view: codec.ContractView) -> codec.ContractView:
        """``view`` with its symbol as configured (a shortcode writes it upper-case)."""
        symbol = self._symbols.spelled(view.symbol)
        return view if symbol == view.symbol else dataclasses.replace(view, symbol=symbol)

    async def _lookup_contracts(
        self, session: Session, since_ts: float
    ) -> list[codec.ContractView]:
        """Open and recently closed contracts, shared by concurrent lookups.

        ``portfolio`` and ``profit_table`` share Deriv's smallest budget (30 a minute), so
        lookups that arrive together await one fetch, and a fetch less than
        ``LOOKUP_CACHE_S`` old answers again. A stale answer can only *miss* a contract
        bought in that second, never invent one, and the executor treats "not found" as
        final only ``ack_grace_s`` after the send.
        """
        loop = asyncio.get_running_loop()
        cached = self._lookup_cache
        if (
            cached is not None
            and cached.session is session
            and cached.since_ts <= since_ts
            and loop.time() - cached.fetched_at <= LOOKUP_CACHE_S
        ):
            return cached.views
        task = self._lookup_task
        if (
            task is None
            or task.done()
            or self._lookup_since > since_ts
            or self._lookup_session is not session
        ):
            task = loop.create_task(self._fetch_contracts(session, since_ts))
            task.add_done_callback(_retrieve)
            self._lookup_task, self._lookup_session = task, session
            self._lookup_since = since_ts
        return await asyncio.shield(task)

    async def _fetch_contracts(self, session: Session, since_ts: float) -> list[codec.ContractView]:
        views = [
            *await self._portfolio(session, patient=True),
            *await self._profit_table(session, since_ts, patient=True),
        ]
        loop_now = asyncio.get_running_loop().time()
        self._lookup_cache = _Lookup(loop_now, since_ts, session, views)
        return views

    async def _portfolio(
        self, session: Session, *, patient: bool = False
    ) -> list[codec.ContractView]:
        message = await self._query(
            {"portfolio": 1}, call="portfolio", session=session, patient=patient
        )
        body = message.result_object()
        views = self._decode(
            codec.contract_list, body.get("contracts"), "portfolio", codec.portfolio_contract
        )
        return [self._spelled(view) for view in views]

    async def _profit_table(
        self, session: Session, since_ts: float, *, patient: bool = False
    ) -> list[codec.ContractView]:
        """Every contract sold since ``since_ts``, reading page after page (``offset``).

        A page shorter than ``history_page_size`` is the last; so is a page that repeats
        only contracts already read (a server that ignores ``offset``).
        """
        size = self.config.history_page_size
        views: dict[str, codec.ContractView] = {}
        for page in range(MAX_HISTORY_PAGES):
            request = {
                "profit_table": 1,
                "description": 1,
                "date_from": str(max(0, int(since_ts))),
                "limit": size,
                "offset": page * size,
                "sort": "DESC",
            }
            message = await self._query(
                request, call="profit_table", session=session, patient=patient
            )
            rows = message.result_object().get("transactions")
            found = self._decode(codec.contract_list, rows, "profit_table", codec.profit_row)
            fresh = [v for v in found if v.contract_id not in views]
            views.update((v.contract_id, self._spelled(v)) for v in fresh)
            if not isinstance(rows, list) or len(rows) < size or not fresh:
                break
        else:
            log.warning("deriv: profit_table read stopped after %d pages", MAX_HISTORY_PAGES)
        return list(views.values())

    def _claim_stored(self, views: Sequence[codec.ContractView]) -> None:
        """Bind the contracts that storage already holds under an order.

        A new process's correlation book is empty: without this, a lookup for an
        ambiguous send could match an identical contract that an earlier order of the
        same terms owns (stored with its contract id) -- one deal under two orders.
        Storage is the truth: what it binds is never matched to another order.
        """
        ids = [v.contract_id for v in views if self.correlation.client_of(v.contract_id) is None]
        if self._sessions is None or not ids:
            return
        try:
            with self._sessions() as db:
                rows = db.execute(
                    select(Order.client_req_id, Order.broker_order_id).where(
                        Order.broker_order_id.in_(ids)
                    )
                ).all()
        except SQLAlchemyError as error:
            log.warning("deriv: stored contract ids unreadable: %r", error)
            return
        for client_req_id, contract_id in rows:
            if contract_id is not None:
                self.correlation.bind(client_req_id, contract_id)

    async def _watch_soon(self, contract_id: str, expiry_ts: float) -> None:
        """Watch a contract on the current session (the next restore does it otherwise)."""
        try:
            await self._watch(self.link.session(ready=False), contract_id, expiry_ts)
        except ConnectorError as error:
            log.info("deriv: watching %s deferred: %r", contract_id, error)

    async def _watch(self, session: Session, contract_id: str, expiry_ts: float) -> None:
        watch = self._watched.get(contract_id)
        if contract_id in self._settled:
            return
        if watch is not None and watch.session is session and not session.closed:
            return
        watch = self._watched[contract_id] = _Watch(contract_id, expiry_ts, session)
        message = await self._query(
            {"proposal_open_contract": 1, "contract_id": _wire_id(contract_id), "subscribe": 1},
            call="proposal_open_contract",
            session=session,
            stream=functools.partial(self._on_contract, contract_id),
            tolerate=UNKNOWN_CONTRACT_CODES,
        )
        body = message.result("proposal_open_contract")
        if message.is_error or not body:
            self._watched.pop(contract_id, None)  # unknown to the broker: nothing to follow
            return
        watch.req_id = message.req_id
        self._on_contract(contract_id, message)

    def _on_contract(self, contract_id: str, message: Message) -> None:
        if message.is_error:
            return
        try:
            view = codec.open_contract(message.result_object("proposal_open_contract"))
            view = None if view is None else self._spelled(view)
        except ProtocolError as error:
            self.session_stats.bad_frames += 1
            log.warning("deriv: unreadable contract update for %s: %s", contract_id, error)
            return
        if view is not None and view.is_final:
            self._settle(view)

    def _settle(self, view: codec.ContractView) -> None:
        """Report a final contract once to every settlement subscriber."""
        watch = self._watched.pop(view.contract_id, None)
        if watch is not None and watch.session is not None and watch.req_id is not None:
            watch.session.forget(watch.req_id)
        if view.contract_id in self._settled:
            return
        self._settled[view.contract_id] = None
        while len(self._settled) > MAX_SETTLED_MEMORY:
            self._settled.popitem(last=False)
        client = self.correlation.client_of(view.contract_id)
        for account_id, subscription in list(self._settlement_subs):
            settlement = view.settlement(client, account_id)
            if settlement is not None:
                subscription.put(settlement)

    async def _sweep(self) -> None:
        """Look up watched contracts whose result is overdue; expire stale bookkeeping."""
        interval_s = min(1.0, self.config.settle_check_s / 2.0)
        while True:
            await asyncio.sleep(interval_s)
            now = self._server_now()
            self.correlation.expire(now)
            if self.state is not LinkState.READY:
                continue
            for watch in list(self._watched.values()):
                due = watch.expiry_ts + self.config.settle_check_s
                if now < due or now - watch.checked_ts < self.config.settle_check_s:
                    continue
                watch.checked_ts = now
                try:
                    view = await self._contract(self.link.session(ready=False), watch.contract_id)
                except ConnectorError as error:
                    log.info("deriv: overdue lookup of %s failed: %r", watch.contract_id, error)
                    break
                if view is not None and view.is_final:
                    self._settle(view)

    # -- reconnect: restore streams and reconcile ---------------------------------------

    async def _restore(self, session: Session, auth: codec.Authorization) -> None:
        """Run by the link on every new connection before it reports ready."""
        register_sensitive(auth.loginid, "deriv_login", whole_word=True)
        before = self.clock.now()
        reply = await self._query({"time": 1}, call="time", session=session)
        server = float(self._decode(integer, reply.result("time"), "time"))
        self._offset_s = _offset(server, (before + self.clock.now()) / 2.0)
        for candle_feed in list(self._candle_feeds.values()):
            await self._start_feed(session, candle_feed)
        for tick_feed in list(self._tick_feeds.values()):
            await self._start_feed(session, tick_feed)
        await self._reconcile(session)

    async def _reconcile(self, session: Session) -> None:
        """Bring the watched contracts and the unresolved sends up to date.

        Every watched contract is subscribed again: the first reply of its
        ``proposal_open_contract`` stream says whether it settled during the outage. Only
        the first connection (a new process: contracts it does not know yet) and
        ambiguous sends need ``portfolio`` / ``profit_table``, which share Deriv's
        smallest budget, so a reconnect storm does not spend it: ambiguous sends use the
        lookup shared with :meth:`find_order`, and when that budget is spent they are
        left to the executor's ``find_order``.
        """
        unresolved = self.correlation.unresolved()
        open_views: list[codec.ContractView] = []
        if not self._reconciled_once:
            open_views = await self._portfolio(session)
        for view in open_views:
            await self._watch(session, view.contract_id, view.expiry_ts)
        for contract_id, watch in list(self._watched.items()):
            await self._watch(session, contract_id, watch.expiry_ts)
        self._reconciled_once = True
        if not unresolved:
            return
        since = min(r.created_ts for r in unresolved) - self.config.clock_margin_s
        try:
            known = await self._lookup_contracts(session, since)
        except RateLimited as error:
            # The executor resolves them with find_order once the budget allows.
            log.info("deriv: %d ambiguous sends left to find_order: %s", len(unresolved), error)
            return
        self._claim_stored(known)
        for request in unresolved:
            match = self.correlation.match(request, known)
            if match is None:
                continue
            self.correlation.bind(request.client_req_id, match.contract_id, request.account_id)
            log.info("deriv: reconciled %s → contract %s", request.client_req_id, match.contract_id)
            if match.is_final:
                self._settle(match)
            else:
                await self._watch(session, match.contract_id, match.expiry_ts)

    def _on_orphan(self, message: Message) -> None:
        """A reply whose request gave up waiting: learn late buys, late contract updates."""
        if message.msg_type == "buy" and not message.is_error:
            cid = (message.passthrough or {}).get("client_req_id")
            try:
                purchase = codec.purchase(message.result_object())
            except ProtocolError:
                return
            if isinstance(cid, str):
                account = self.correlation.account_of(cid)
                self.correlation.bind(cid, purchase.contract_id, account)
                log.info("deriv: late buy answer bound %s → %s", cid, purchase.contract_id)
            self._spawn(self._watch_soon(purchase.contract_id, purchase.expiry_ts or 0.0))
        elif message.msg_type == "proposal_open_contract":
            body = message.result("proposal_open_contract")
            contract_id = body.get("contract_id") if isinstance(body, dict) else None
            if contract_id is not None:
                self._on_contract(str(contract_id), message)

    # -- plumbing -----------------------------------------------------------------------

    async def _query(
        self,
        payload: dict[str, Any],
        *,
        call: str,
        session: Session | None = None,
        stream: Callable[[Message], None] | None = None,
        tolerate: frozenset[str] = frozenset(),
        raise_errors: bool = True,
        patient: bool = False,
    ) -> Message:
        """Send a read (or subscription) and return its reply, errors typed.

        ``patient`` calls wait out a spent budget (bounded) instead of failing; so do
        calls on an explicit ``session`` that is still restoring: a reconnect that gives
        up on its own rate limit would only reconnect again and spend more.
        """
        live = session or self.link.session(ready=False)
        patient = patient or (session is not None and self.link.state is not LinkState.READY)
        for attempt in range(RESTORE_RATE_RETRIES + 1):
            try:
                return await self._query_once(
                    live,
                    payload,
                    call=call,
                    stream=stream,
                    tolerate=tolerate,
                    raise_errors=raise_errors,
                )
            except RateLimited as error:
                if (
                    not patient
                    or attempt == RESTORE_RATE_RETRIES
                    or error.retry_after_s > PATIENT_MAX_WAIT_S
                ):
                    raise
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(live.wait_closed(), error.retry_after_s)
                if live.closed:
                    raise Disconnected(f"deriv: connection lost while pacing {call}") from error
        raise AssertionError("unreachable")

    async def _query_once(
        self,
        live: Session,
        payload: dict[str, Any],
        *,
        call: str,
        stream: Callable[[Message], None] | None,
        tolerate: frozenset[str],
        raise_errors: bool,
    ) -> Message:
        try:
            message = await live.request(
                payload, call=call, timeout_s=self.config.request_timeout_s, stream=stream
            )
        except ConnectionLost as error:
            raise Disconnected(f"deriv: connection lost during {call}") from error
        except ReplyTimeout as error:
            raise Transient(str(error)) from error
        if message.is_error and raise_errors and message.error_code not in tolerate:
            raise self._error(message, call)
        return message

    def _error(self, message: Message, call: str) -> ConnectorError:
        retry_s = self.config.rate_limit_retry_s
        if message.error_code in RATE_LIMIT_CODES:
            retry_s = self.limiter.penalise(call, retry_s)
        return error_for(message, call=call, retry_after_s=retry_s)

    @staticmethod
    def _decode(decoder: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return decoder(*args, **kwargs)
        except ProtocolError as error:
            raise Transient(f"deriv: malformed reply: {error}") from error

    def _server_now(self) -> float:
        return self.clock.now() + self._offset_s

    def _spawn(self, coroutine: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coroutine)
        except RuntimeError:
            coroutine.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _offset(server_ts: float, local_ts: float) -> float:
    """Server minus local time; within Deriv's one-second resolution it counts as zero."""
    offset = server_ts - local_ts
    return 0.0 if -1.0 <= offset <= 1.0 else offset


def _wire_id(contract_id: str) -> int | str:
    """Contract ids are integers on the wire."""
    return int(contract_id) if contract_id.isdigit() else contract_id
