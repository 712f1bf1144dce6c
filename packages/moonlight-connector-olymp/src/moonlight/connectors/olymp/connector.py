"""OlympConnector: MoonLight's connector contract over Olymp Trade's web protocol.

The protocol is reverse-engineered (see the package README and
``docs/connectors/olymp.md``); what this class adds on top of the session is the
contract's safety: an order is sent at most once, its result is never lost, and a
real-money order needs explicit consent.

Orders (e:23)
    Requests go out one at a time, at least ``deal_interval_s`` apart, and only while
    the session is *ready* — after bootstrap, re-subscription and reconciliation. The
    send is recorded before it is written; the reply (matched by uuid, even when late)
    links the broker's deal to the order. No reply → :class:`Ambiguous`; the deal is
    then found by :meth:`find_order` (the late reply, the e:22 push, e:31 open deals or
    the closed-deal history). A second ``place_order`` with a known ``client_req_id``
    returns the first acknowledgement, or raises :class:`Ambiguous` while the first send
    is unresolved: it never opens a second deal.

Settlement (e:26)
    ``win``/``loose``/``standoff`` → win/lose/push; duplicates are dropped. After a
    reconnect, and every ``resolve_interval_s`` for deals past their expiry, deals that
    left the e:31 open list are looked up in the closed-deal history and their
    settlement is published as if it had been pushed: a lost push costs latency only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, replace
from typing import Any

from moonlight.connectors.olymp.accounts import AccountState
from moonlight.connectors.olymp.config import OlympConfig
from moonlight.connectors.olymp.deals import DealBook, PendingSend, TrackedDeal, order_view
from moonlight.connectors.olymp.http_api import OlympHttp, Tokens
from moonlight.connectors.olymp.market_data import MarketData
from moonlight.connectors.olymp.payloads import (
    DEAL_ACCEPTED,
    DEAL_CANCELLED,
    DealData,
    accepted_codes,
    number,
    parse_balances,
    parse_deals,
    parse_limits,
    parse_payouts,
    parse_ticks,
)
from moonlight.connectors.olymp.protocol import Event, Message
from moonlight.connectors.olymp.refusals import broker_refusal, cancel_reason, stake_refusal
from moonlight.connectors.olymp.safety import check_url
from moonlight.connectors.olymp.session import (
    NotWritten,
    OlympSession,
    ReplyLost,
    ReplyTimeout,
    SessionState,
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

log = logging.getLogger("moonlight.connectors.olymp")

TRADE_STREAMS = frozenset({Event.DEAL_OPENED, Event.DEAL_CLOSED})
_RATE_ERRORS = ("rate_limit", "too_many", "flood", "slow_down")
_AUTH_ERRORS = ("invalid_token", "unauthorized", "auth")
#: Stop auto-resolving a deal this long after its expiry (the executor has decided by then).
RESOLVE_HORIZON_S = 3600.0
HISTORY_PAGES = 3


def wire_id(account_id: str) -> int | str:
    """Account ids go on the wire as numbers when they are numeric (as the web app sends)."""
    return int(account_id) if account_id.isdigit() else account_id


class OlympConnector(Connector):
    """The Olymp Trade connector; see the module docstring."""

    name = "olymp"

    def __init__(
        self,
        config: OlympConfig,
        *,
        access_token: str,
        refresh_token: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        for purpose, url, schemes in (
            ("ws_url", config.ws_url, ("wss",)),
            ("api_url", config.api_url, ("https",)),
            ("renew_url", config.renew_url, ("https",)),
        ):
            check_url(url, config.allowed_hosts, purpose=purpose, schemes=schemes)
        self.config = config
        self.tokens = Tokens(access_token, refresh_token)
        self.http = OlympHttp(config, self.tokens)
        self.session = OlympSession(
            config,
            self.http,
            on_push=self._on_push,
            on_open=self._on_open,
            on_lost=self._on_lost,
            rng=rng,
        )
        self.market = MarketData(config, self.session)
        self.accounts = AccountState(config)
        self.book = DealBook()
        self.trade_streams_ok = False
        self._settlement_subs: dict[str, list[Subscription[Settlement]]] = {}
        self._deal_lock = asyncio.Lock()
        self._last_deal_at = float("-inf")
        self._resolver: asyncio.Task[None] | None = None
        self._unknown_logged: set[int] = set()

    # -- life cycle -------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect, bootstrap and reconcile; returns once orders may be sent."""
        await self.session.start(self.config.connect_timeout_s)
        if self._resolver is None or self._resolver.done():
            self._resolver = asyncio.get_running_loop().create_task(self._resolve_forever())

    async def close(self) -> None:
        """Stop reconnecting, close the socket, end every stream (idempotent)."""
        if self._resolver is not None:
            self._resolver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resolver
            self._resolver = None
        await self.market.close()
        await self.session.stop()
        await self.http.aclose()
        for subs in self._settlement_subs.values():
            for sub in list(subs):
                sub.end()
        self._settlement_subs.clear()

    @property
    def state(self) -> SessionState:
        """The session's state (``ready`` is the only one that trades)."""
        return self.session.state

    def status(self) -> dict[str, Any]:
        """A JSON-ready report of the connection and the book, for operators."""
        stats = asdict(self.session.stats)
        attempts = stats.pop("attempt_times")
        delays = stats.pop("backoff_delays_s")
        return {
            "state": self.session.state.value,
            "server_offset_s": self.session.clock.offset_s,
            "trade_streams_subscribed": self.trade_streams_ok,
            "open_deals": sum(1 for t in self.book.deals.values() if t.settlement is None),
            "unanswered_sends": len(self.book.pending),
            "accounts": {a: b.group for a, b in self.accounts.balances.items()},
            "market": self.market.stats(),
            "connect_attempts_recent": len(attempts),
            "last_backoff_s": delays[-1] if delays else None,
            **stats,
        }

    # -- market data ------------------------------------------------------------------

    async def server_time(self) -> float:
        """The broker's time measured now by an e:90 round trip (never a cached estimate:
        the engine's clock sync filters the samples itself, see ``server_clock``)."""
        await self.session.wait_ready(self.config.ready_timeout_s)
        offset = await self.session.ping()
        return time.time() + offset

    async def instruments(self) -> Sequence[Instrument]:
        await self.session.wait_ready(self.config.ready_timeout_s)
        broker_id, _ = self.accounts.resolve(self._default_account(), for_order=False)
        if not self.accounts.payouts:
            await self._refresh_payouts(broker_id)
        return self.accounts.instruments(self.accounts.currency_of(broker_id))

    async def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> Sequence[Candle]:
        return await self.market.candles(instrument, timeframe_s, count=count, end_ts=end_ts)

    def subscribe_candles(self, instrument: str, timeframe_s: int) -> AsyncIterator[Candle]:
        return self.market.subscribe_candles(instrument, timeframe_s)

    def subscribe_ticks(self, instrument: str) -> AsyncIterator[Tick]:
        return self.market.subscribe_ticks(instrument)

    # -- orders -----------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        self.accounts.precheck_order(request.account_id)
        known = self._known(request)
        if known is not None:
            return known
        await self.session.wait_ready(self.config.ready_timeout_s)
        broker_id, group = self.accounts.resolve(request.account_id, for_order=True)
        fallback_payout = self._check_terms(request)
        async with self._deal_lock:
            known = self._known(request)
            if known is not None:
                return known
            wait_s = self._last_deal_at + self.config.deal_interval_s - time.monotonic()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            if not self.session.ready:
                raise Disconnected("olymp session dropped before the deal was sent")
            uuid = self.session.new_uuid()
            payload = {
                "amount": round(request.stake, 2),
                "dir": request.direction.value,
                "pair": request.instrument,
                "cat": "digital",
                "pos": 0,
                "source": "platform",
                "account_id": wire_id(broker_id),
                "group": group,
                "timestamp": int(self.session.server_now() * 1000),
                "risk_free_id": None,
                "is_flex": False,
                "duration": request.duration_s,
            }
            self.book.begin_send(PendingSend(uuid, request, broker_id, group, time.time()))
            self._last_deal_at = time.monotonic()
            try:
                reply = await self.session.request(
                    Event.DEAL_OPEN, [payload], timeout_s=self.config.order_timeout_s, uuid=uuid
                )
            except NotWritten as error:
                self.book.cancel_send(uuid)
                raise Disconnected(str(error)) from None
            except (ReplyLost, ReplyTimeout) as error:
                raise Ambiguous(f"deal request {uuid} sent, no answer: {error}") from None
        return self._ack_from_reply(uuid, request, reply, fallback_payout)

    async def order_status(self, account_id: str, broker_order_id: str) -> BrokerOrder | None:
        tracked = self.book.deals.get(broker_order_id)
        if tracked is not None and tracked.settlement is not None:
            return self._view(tracked, account_id)
        await self.session.wait_ready(self.config.ready_timeout_s)
        broker_id, group = self.accounts.resolve(account_id, for_order=False)
        if tracked is not None and tracked.broker_account:
            broker_id = tracked.broker_account
        open_deals = await self._open_deals(broker_id, group)
        if any(deal.id == broker_order_id for deal in open_deals):
            return self._view(self.book.deals[broker_order_id], account_id)
        await self._recover_closed(broker_id, group, ids={broker_order_id})
        tracked = self.book.deals.get(broker_order_id)
        if tracked is not None and tracked.settlement is not None:
            return self._view(tracked, account_id)
        if tracked is None:
            return None
        raise Transient(f"deal {broker_order_id} left the open list; its result is not known yet")

    async def find_order(self, request: OrderRequest) -> BrokerOrder | None:
        tracked = self.book.by_client_id(request.client_req_id)
        if tracked is not None:
            return self._view(tracked, request.account_id)
        await self.session.wait_ready(self.config.ready_timeout_s)
        tracked = self.book.by_client_id(request.client_req_id)  # a late reply may have come
        if tracked is not None:
            return self._view(tracked, request.account_id)
        broker_id, group = self.accounts.resolve(request.account_id, for_order=False)
        open_deals = await self._open_deals(broker_id, group)
        found = self._match(request, broker_id, open_deals)
        if found is not None:
            return self._view(found, request.account_id)
        send = self.book.pending_for(request.client_req_id)
        start = send.sent_ts if send is not None else request.created_ts
        if time.time() < start + request.duration_s - self.config.clock_margin_s:
            return None  # a deal of this order could not have closed yet: it does not exist
        closed = await self._closed_deals(broker_id, group, since_ts=start)
        found = self._match(request, broker_id, closed)
        if found is None:
            return None
        self._settle(found.deal, broker_id)
        return self._view(found, request.account_id)

    async def open_orders(self, account_id: str) -> Sequence[BrokerOrder]:
        await self.session.wait_ready(self.config.ready_timeout_s)
        broker_id, group = self.accounts.resolve(account_id, for_order=False)
        deals = await self._open_deals(broker_id, group)
        return [self._view(self.book.deals[d.id], account_id) for d in deals]

    def subscribe_settlements(self, account_id: str) -> AsyncIterator[Settlement]:
        group = self._settlement_subs.setdefault(account_id, [])

        def forget(sub: Subscription[Settlement]) -> None:
            if sub in group:
                group.remove(sub)

        sub: Subscription[Settlement] = Subscription(on_close=forget)
        group.append(sub)
        return sub

    async def balance(self, account_id: str) -> Balance:
        await self.session.wait_ready(self.config.ready_timeout_s)
        broker_id, _ = self.accounts.resolve(account_id, for_order=False)
        known = self.accounts.balances.get(broker_id)
        if known is None:
            raise Transient(f"the broker has not pushed the balance of account {broker_id}")
        return Balance(account_id, known.amount, known.currency or self.config.currency)

    async def account_info(self, account_id: str) -> BrokerAccount:
        """The account as the broker's e:55 push lists it (its group, never the config's)."""
        await self.session.wait_ready(self.config.ready_timeout_s)
        broker_id, _ = self.accounts.resolve(account_id, for_order=False)
        known = self.accounts.balances.get(broker_id)
        if known is None:
            raise Transient(f"the broker has not listed account {broker_id}")
        return BrokerAccount(
            account_id,
            AccountKind.REAL if known.group == "real" else AccountKind.DEMO,
            known.currency or self.config.currency,
            known.amount,
            broker_account_id=broker_id,
        )

    @property
    def connection_epoch(self) -> int:
        return self.session.stats.ready_count

    # -- order helpers ----------------------------------------------------------------

    def _known(self, request: OrderRequest) -> OrderAck | None:
        """The ack of an order already placed, or Ambiguous if its send is unresolved."""
        tracked = self.book.by_client_id(request.client_req_id)
        if tracked is not None:
            return self._view(tracked, request.account_id).ack()
        if self.book.pending_for(request.client_req_id) is not None:
            raise Ambiguous(
                f"{request.client_req_id}: an earlier send is unanswered; not re-sent"
                " (reconcile with find_order)"
            )
        return None

    def _check_terms(self, request: OrderRequest) -> float:
        """Refuse what the broker would refuse; returns the asset's current payout."""
        payout = self.accounts.payouts.get(request.instrument)
        if payout is None:
            if self.accounts.payouts:
                raise Rejected(f"unknown or untradable asset {request.instrument!r}")
            return 0.0
        broker_id, _ = self.accounts.resolve(request.account_id, for_order=False)
        currency = self.accounts.currency_of(broker_id)
        limits = self.accounts.stake_limits(currency)
        refusal = stake_refusal(request.stake, limits.min, limits.max, currency)
        if refusal is not None:
            raise refusal
        instrument = next(
            i for i in self.accounts.instruments(currency) if i.symbol == request.instrument
        )
        problem = instrument.check(request.stake, request.duration_s)
        if problem is not None:
            raise Rejected(problem)
        if request.min_payout_pct is not None and payout.payout_pct < request.min_payout_pct:
            raise Rejected(
                f"payout {payout.payout_pct:g}% below requested {request.min_payout_pct:g}%"
            )
        return payout.payout_pct

    def _ack_from_reply(
        self, uuid: str, request: OrderRequest, reply: Message, fallback_payout: float
    ) -> OrderAck:
        if reply.err is not None:
            self.book.cancel_send(uuid)
            raise self._error_of(reply)
        deals = parse_deals(reply.d)
        deal = deals[0] if deals else None
        first = reply.d[0] if _first_object(reply.d) else None
        status = deal.status if deal is not None else (first or {}).get("status")
        if status == DEAL_CANCELLED:
            self.book.cancel_send(uuid)
            what = f"deal {deal.id} cancelled by the broker" if deal else "deal cancelled"
            raise broker_refusal(what, cancel_reason(first))
        if deal is None:
            raise Ambiguous(f"deal request {uuid} answered without a deal id; reconcile")
        if deal.status not in (DEAL_ACCEPTED, None) and deal.outcome is None:
            raise Ambiguous(f"deal {deal.id} answered with status {deal.status!r}; reconcile")
        tracked = self.book.link_reply(uuid, deal)
        if tracked is None:  # the reply was already linked by a push in the same frame
            tracked = self.book.learn(deal, request=request)
        if deal.outcome is not None:
            self._settle(deal, tracked.broker_account)
        return self._view(tracked, request.account_id, fallback_payout).ack()

    def _error_of(self, reply: Message) -> ConnectorError:
        err = (reply.err or "").lower()
        if any(word in err for word in _RATE_ERRORS):
            retry = number(reply.d.get("retry_after")) if isinstance(reply.d, dict) else None
            return RateLimited(retry or self.config.rate_limit_retry_s, f"olymp: {reply.err}")
        if any(word in err for word in _AUTH_ERRORS):
            return AuthFailed(f"olymp: {reply.err}")
        return broker_refusal("olymp refused the deal", reply.err)

    def _view(
        self, tracked: TrackedDeal, account_id: str, fallback_payout: float | None = None
    ) -> BrokerOrder:
        pair = tracked.deal.pair or (tracked.request.instrument if tracked.request else "")
        payout = self.accounts.payouts.get(pair)
        fallback = fallback_payout if fallback_payout else (payout.payout_pct if payout else 0.0)
        return order_view(tracked, account_id, fallback)

    def _match(
        self, request: OrderRequest, broker_id: str, deals: list[DealData]
    ) -> TrackedDeal | None:
        deal = self.book.match(
            request,
            broker_id,
            deals,
            offset_s=self.session.clock.offset_s,
            window_s=self.config.match_window_s,
            margin_s=self.config.clock_margin_s,
        )
        if deal is None:
            return None
        return self.book.learn(deal, broker_account=broker_id, request=request)

    def _default_account(self) -> str:
        for name, ref in self.config.accounts.items():
            if ref.group == self.config.default_group:
                return name
        return "default"

    # -- broker queries ---------------------------------------------------------------

    async def _open_deals(self, broker_id: str, group: str) -> list[DealData]:
        reply = await self.session.request(
            Event.OPEN_DEALS,
            [{"account_id": wire_id(broker_id), "group": group}],
            timeout_s=self.config.request_timeout_s,
        )
        if reply.err is not None:
            raise Transient(f"open deals of {broker_id}: {reply.err}")
        deals = parse_deals(reply.d)
        for deal in deals:
            self.book.learn(deal, broker_account=broker_id)
        return deals

    async def _closed_deals(
        self, broker_id: str, group: str, *, since_ts: float, ids: set[str] | None = None
    ) -> list[DealData]:
        """Closed deals back to ``since_ts`` (local time), or until every id in ``ids``."""
        found: list[DealData] = []
        horizon = since_ts + self.session.clock.offset_s - self.config.clock_margin_s
        wanted = set(ids or ())
        for page in range(1, HISTORY_PAGES + 1):
            deals = await self.http.closed_deals(broker_id, group, page=page)
            found.extend(deals)
            wanted -= {d.id for d in deals}
            if ids is not None and not wanted:
                break
            closes = [d.time_close or d.time_open for d in deals]
            if len(deals) < self.config.history_page_limit or any(
                c is not None and c < horizon for c in closes
            ):
                break
        return found

    async def _recover_closed(self, broker_id: str, group: str, *, ids: set[str]) -> None:
        """Settle the deals ``ids`` from the closed-deal history (those it lists)."""
        opened = [self.book.deals[i].deal.time_open for i in ids if i in self.book.deals]
        since_local = min((t for t in opened if t is not None), default=time.time() - 86_400.0)
        since_local -= self.session.clock.offset_s
        for deal in await self._closed_deals(broker_id, group, since_ts=since_local, ids=ids):
            if deal.id in ids:
                self._settle(deal, broker_id)

    async def _refresh_payouts(self, broker_id: str) -> None:
        reply = await self.session.request(
            Event.PAYOUTS,
            [{"account_id": wire_id(broker_id)}],
            timeout_s=self.config.request_timeout_s,
        )
        if reply.err is not None:
            raise Transient(f"payouts: {reply.err}")
        self.accounts.update_payouts(parse_payouts(reply.d))

    # -- session callbacks ------------------------------------------------------------

    async def _on_open(self) -> None:
        """Bootstrap (brief 4.2), re-subscribe, reconcile — then the session is ready."""
        self.accounts.balances_seen.clear()
        accepted: set[int] = set()
        for group in self.config.bootstrap_groups:
            await self.session.subscription_slot()
            reply = await self.session.request(
                Event.SUBSCRIBE, list(group), timeout_s=self.config.request_timeout_s
            )
            accepted |= accepted_codes(reply.d)
        self.trade_streams_ok = accepted >= TRADE_STREAMS
        if not self.trade_streams_ok:
            log.warning("olymp: trade streams 22/26 not acknowledged; settlements rely on polling")
        try:
            await self.session.ping()
        except ReplyTimeout:
            raise
        except Transient as error:  # answered without a time: the clock waits for ticks
            log.warning("olymp: %s", error)
        if Event.BALANCES in accepted:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.accounts.balances_seen.wait(), self.config.request_timeout_s
                )
        try:
            broker_id, _ = self.accounts.resolve(self._default_account(), for_order=False)
            await self._refresh_payouts(broker_id)
        except (Rejected, Transient, Disconnected) as error:
            if isinstance(error, ReplyLost | NotWritten):
                raise
            log.warning("olymp: payouts unavailable at bootstrap: %s", error)
        await self.market.resubscribe()
        await self._reconcile()

    def _on_lost(self) -> None:
        self.market.on_lost()

    async def _reconcile(self) -> None:
        """Bring the book in line with the broker before trading resumes."""
        accounts: dict[str, str] = {}
        for tracked in self.book.deals.values():
            if tracked.settlement is None and tracked.broker_account:
                accounts[tracked.broker_account] = tracked.deal.group or self._group_of(
                    tracked.broker_account
                )
        for send in self.book.pending.values():
            accounts[send.broker_account] = send.group
        for broker_id, group in accounts.items():
            open_deals = await self._open_deals(broker_id, group)
            for send in list(self.book.pending.values()):
                if send.broker_account == broker_id:
                    self._match(send.request, broker_id, open_deals)
            open_ids = {d.id for d in open_deals}
            gone = {t.deal.id for t in self.book.open_deals(broker_id) if t.deal.id not in open_ids}
            if gone:
                try:
                    await self._recover_closed(broker_id, group, ids=gone)
                except (Transient, RateLimited) as error:
                    log.warning("olymp: closed deals not recovered yet (%s); will retry", error)

    def _group_of(self, broker_id: str) -> str:
        known = self.accounts.balances.get(broker_id)
        return known.group if known is not None else self.config.default_group

    def _on_push(self, message: Message) -> None:
        code = message.e
        if code == Event.TICK:
            now = time.time()
            for tick in parse_ticks(message.d):
                self.session.clock.add_lower_bound(tick.ts, now)
                self.market.on_tick(tick)
        elif code == Event.DEAL_CLOSED:
            for deal in parse_deals(message.d):
                self._settle(deal, deal.account_id)
        elif code in (Event.DEAL_OPENED, Event.OPEN_DEALS):
            for deal in parse_deals(message.d):
                self._learn_pushed(deal)
        elif code == Event.DEAL_OPEN:
            self._late_reply(message)
        elif code == Event.BALANCES:
            self.accounts.update_balances(parse_balances(message.d))
        elif code == Event.AMOUNT_LIMITS:
            self.accounts.update_limits(parse_limits(message.d))
        elif code in (Event.PAYOUTS, Event.PAYOUT_UPDATE):
            self.accounts.update_payouts(parse_payouts(message.d))
        elif code == Event.PING and message.ts is not None:
            self.session.clock.add_lower_bound(message.ts, time.time())
        elif code in (Event.SUBSCRIBE, Event.CANDLES, Event.CANDLES_REPLY):
            log.debug("olymp: unsolicited e:%d ignored", code)
        else:
            stats = self.session.stats.unknown_events
            stats[code] = stats.get(code, 0) + 1
            if code not in self._unknown_logged:
                self._unknown_logged.add(code)
                log.info("olymp: event e:%d not used by MoonLight; ignored", code)

    def _late_reply(self, message: Message) -> None:
        if message.uuid is None or message.uuid not in self.book.pending:
            return
        if message.err is not None:
            self.book.cancel_send(message.uuid)
            return
        deals = parse_deals(message.d)
        if deals and deals[0].status == DEAL_CANCELLED:
            self.book.cancel_send(message.uuid)
        elif deals:
            self.book.link_reply(message.uuid, deals[0])
            log.info("olymp: late e:23 reply linked deal %s", deals[0].id)

    def _learn_pushed(self, deal: DealData) -> None:
        tracked = self.book.learn(deal)
        if tracked.request is not None or deal.account_id is None:
            return
        candidates = [s for s in self.book.pending.values() if s.broker_account == deal.account_id]
        matches = [
            s
            for s in candidates
            if self.book.match(
                s.request,
                s.broker_account,
                [deal],
                offset_s=self.session.clock.offset_s,
                window_s=self.config.order_timeout_s,
                margin_s=self.config.clock_margin_s,
            )
            is not None
        ]
        if len(matches) == 1:  # exactly one unanswered send fits: it is this deal
            self.book.learn(
                deal, broker_account=matches[0].broker_account, request=matches[0].request
            )

    def _settle(self, deal: DealData, broker_id: str | None) -> None:
        tracked, settlement = self.book.settle(deal, self.session.server_now())
        if settlement is None:
            return
        account = tracked.broker_account or broker_id
        if account is None:
            return
        targets = self.accounts.moonlight_ids_for(account, list(self._settlement_subs))
        if tracked.request is not None and tracked.request.account_id in self._settlement_subs:
            targets = list(dict.fromkeys([tracked.request.account_id, *targets]))
        for target in targets:
            item = (
                settlement
                if settlement.account_id == target
                else replace(settlement, account_id=target)
            )
            for sub in list(self._settlement_subs.get(target, ())):
                sub.put(item)

    # -- background resolution --------------------------------------------------------

    async def _resolve_forever(self) -> None:
        """Find the results of deals past expiry whose close push has not arrived."""
        while True:
            await asyncio.sleep(self.config.resolve_interval_s)
            keep_s = self.config.order_timeout_s + self.config.match_window_s
            self.book.expire_sends(time.time(), keep_s)
            if not self.session.ready:
                continue
            now = self.session.server_now()
            overdue: dict[str, set[str]] = {}
            for tracked in self.book.deals.values():
                expires = tracked.expires_ts()
                if tracked.settlement is not None or expires is None or not tracked.broker_account:
                    continue
                if expires + self.config.clock_margin_s < now < expires + RESOLVE_HORIZON_S:
                    overdue.setdefault(tracked.broker_account, set()).add(tracked.deal.id)
            for broker_id, ids in overdue.items():
                group = self._group_of(broker_id)
                try:
                    open_ids = {d.id for d in await self._open_deals(broker_id, group)}
                    gone = ids - open_ids
                    if gone:
                        await self._recover_closed(broker_id, group, ids=gone)
                except ConnectorError as error:
                    log.info("olymp: overdue deals of %s not resolved yet: %s", broker_id, error)
                except Exception:  # keep resolving the other accounts and later rounds
                    log.exception("olymp: resolving overdue deals of %s failed", broker_id)


def _first_object(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict)
