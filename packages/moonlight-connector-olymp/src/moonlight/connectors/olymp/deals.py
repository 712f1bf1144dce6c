"""The connector's own view of its deals: which broker deal answers which order.

Olymp deals carry no client id, so the book links a deal to MoonLight's
``client_req_id`` through the e:23 request's ``uuid`` (the reply echoes it — even when
it arrives after the order was declared ambiguous). Without a reply, a deal is matched
by its terms: same broker account, pair, direction, amount and duration, opened inside
the window that starts at the decision (or the send), and not yet claimed by another
order. The book also deduplicates settlements: the first close of a deal wins, later
copies are ignored.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from moonlight.connectors.olymp.payloads import DealData
from moonlight.core.connectors.contract import (
    BrokerOrder,
    BrokerOrderStatus,
    OrderRequest,
    Settlement,
)
from moonlight.core.orders import Direction, Outcome

MONEY_DECIMALS = 8


@dataclass
class PendingSend:
    """An e:23 request written (or about to be) whose deal is not known yet."""

    uuid: str
    request: OrderRequest
    broker_account: str
    group: str
    sent_ts: float


@dataclass
class TrackedDeal:
    """A broker deal, with the order it answers when known."""

    deal: DealData
    broker_account: str | None
    request: OrderRequest | None = None
    settlement: Settlement | None = None
    seen_ts: float = field(default_factory=time.time)

    @property
    def client_req_id(self) -> str | None:
        return None if self.request is None else self.request.client_req_id

    def expires_ts(self) -> float | None:
        """Server time at which the deal ends, when known."""
        duration = self.deal.duration_s or (self.request.duration_s if self.request else None)
        if self.deal.time_open is None or duration is None:
            return None
        return self.deal.time_open + duration


def pnl_of(
    deal: DealData, outcome: Outcome, stake: float | None, payout_pct: float | None
) -> float:
    """Profit of a closed deal: the server's ``balance_change`` if given, else derived."""
    if deal.balance_change is not None:
        return round(deal.balance_change, MONEY_DECIMALS)
    if outcome is Outcome.PUSH or stake is None:
        return 0.0
    if outcome is Outcome.LOSE:
        return round(-stake, MONEY_DECIMALS)
    return round(stake * (payout_pct or 0.0) / 100.0, MONEY_DECIMALS)


class DealBook:
    """Deals by broker id, the order each answers, and the sends not yet answered."""

    def __init__(self, *, max_deals: int = 20_000) -> None:
        self.deals: dict[str, TrackedDeal] = {}
        self.by_client: dict[str, str] = {}
        self.pending: dict[str, PendingSend] = {}
        self._max_deals = max_deals

    # -- sends ------------------------------------------------------------------------

    def begin_send(self, send: PendingSend) -> None:
        """Record a send before it is written, so a late reply can still be linked."""
        self.pending[send.uuid] = send

    def cancel_send(self, uuid: str) -> None:
        """The broker refused the send: nothing to link."""
        self.pending.pop(uuid, None)

    def pending_for(self, client_req_id: str) -> PendingSend | None:
        """The unanswered send of an order, if any."""
        for send in self.pending.values():
            if send.request.client_req_id == client_req_id:
                return send
        return None

    def expire_sends(self, now_ts: float, keep_s: float) -> None:
        """Forget sends older than ``keep_s`` (their deal was found or never existed)."""
        for uuid in [u for u, s in self.pending.items() if now_ts - s.sent_ts > keep_s]:
            del self.pending[uuid]

    def link_reply(self, uuid: str, deal: DealData) -> TrackedDeal | None:
        """An e:23 reply (timely or late) names the deal of the send ``uuid``."""
        send = self.pending.pop(uuid, None)
        if send is None:
            return None
        return self.learn(deal, broker_account=send.broker_account, request=send.request)

    # -- deals ------------------------------------------------------------------------

    def learn(
        self,
        deal: DealData,
        *,
        broker_account: str | None = None,
        request: OrderRequest | None = None,
    ) -> TrackedDeal:
        """Merge what a reply or push says about a deal; link it to ``request`` if given."""
        tracked = self.deals.get(deal.id)
        if tracked is None:
            tracked = TrackedDeal(deal=deal, broker_account=broker_account or deal.account_id)
            self.deals[deal.id] = tracked
            self._prune()
        else:
            tracked.deal = tracked.deal.merged(deal)
            tracked.broker_account = tracked.broker_account or broker_account or deal.account_id
        if request is not None and tracked.request is None:
            tracked.request = request
            self.by_client.setdefault(request.client_req_id, deal.id)
            for uuid, send in list(self.pending.items()):
                if send.request.client_req_id == request.client_req_id:
                    del self.pending[uuid]
        return tracked

    def by_client_id(self, client_req_id: str) -> TrackedDeal | None:
        deal_id = self.by_client.get(client_req_id)
        return None if deal_id is None else self.deals.get(deal_id)

    def is_claimed(self, deal_id: str) -> bool:
        tracked = self.deals.get(deal_id)
        return tracked is not None and tracked.request is not None

    def settle(self, deal: DealData, now_ts: float) -> tuple[TrackedDeal, Settlement | None]:
        """Record a close; returns the deal and its settlement if this close is news."""
        tracked = self.learn(deal)
        outcome = tracked.deal.outcome
        if outcome is None or tracked.settlement is not None:
            return tracked, None
        stake = tracked.deal.amount or (tracked.request.stake if tracked.request else None)
        tracked.settlement = Settlement(
            broker_order_id=tracked.deal.id,
            client_req_id=tracked.client_req_id,
            account_id=tracked.request.account_id
            if tracked.request
            else (tracked.broker_account or ""),
            outcome=outcome,
            pnl=pnl_of(tracked.deal, outcome, stake, tracked.deal.winperc),
            entry_price=tracked.deal.curs_open,
            exit_price=tracked.deal.curs_close,
            settled_ts=tracked.deal.time_close or now_ts,
        )
        return tracked, tracked.settlement

    def open_deals(self, broker_account: str) -> list[TrackedDeal]:
        """Deals of an account without a settlement."""
        return [
            t
            for t in self.deals.values()
            if t.broker_account == broker_account and t.settlement is None
        ]

    def _prune(self) -> None:
        if len(self.deals) <= self._max_deals:
            return
        settled = sorted(
            (t.seen_ts, deal_id) for deal_id, t in self.deals.items() if t.settlement is not None
        )
        for _, deal_id in settled[: len(self.deals) - self._max_deals]:
            tracked = self.deals.pop(deal_id)
            if tracked.client_req_id is not None:
                self.by_client.pop(tracked.client_req_id, None)

    # -- matching ---------------------------------------------------------------------

    def match(
        self,
        request: OrderRequest,
        broker_account: str,
        candidates: list[DealData],
        *,
        offset_s: float,
        window_s: float,
        margin_s: float,
    ) -> DealData | None:
        """The unclaimed deal with the order's terms opened closest after its decision."""
        send = self.pending_for(request.client_req_id)
        start_local = send.sent_ts if send is not None else request.created_ts
        start = start_local + offset_s - margin_s
        end = start_local + offset_s + window_s + margin_s
        best: DealData | None = None
        for deal in candidates:
            if self.is_claimed(deal.id) or not _same_terms(deal, request, broker_account):
                continue
            if deal.time_open is None or not start <= deal.time_open <= end:
                continue
            if best is None or (best.time_open or math.inf) > deal.time_open:
                best = deal
        return best


def _same_terms(deal: DealData, request: OrderRequest, broker_account: str) -> bool:
    return (
        (deal.account_id is None or deal.account_id == broker_account)
        and deal.pair == request.instrument
        and deal.direction == request.direction
        and deal.amount is not None
        and abs(deal.amount - request.stake) < 0.005
        and (deal.duration_s is None or abs(deal.duration_s - request.duration_s) < 0.5)
    )


def order_view(tracked: TrackedDeal, account_id: str, fallback_payout_pct: float) -> BrokerOrder:
    """The contract's :class:`BrokerOrder` for a tracked deal."""
    deal, request = tracked.deal, tracked.request
    duration = deal.duration_s or (request.duration_s if request else 0)
    accepted = deal.time_open or (request.created_ts if request else 0.0)
    direction = deal.direction or (request.direction if request else Direction.UP)
    stake = deal.amount if deal.amount is not None else (request.stake if request else 0.0)
    return BrokerOrder(
        broker_order_id=deal.id,
        client_req_id=tracked.client_req_id,
        account_id=request.account_id if request else account_id,
        instrument=deal.pair or (request.instrument if request else ""),
        direction=direction,
        stake=stake,
        duration_s=int(duration),
        payout_pct=deal.winperc if deal.winperc is not None else fallback_payout_pct,
        accepted_ts=accepted,
        expires_ts=accepted + duration,
        status=BrokerOrderStatus.OPEN if tracked.settlement is None else BrokerOrderStatus.SETTLED,
        entry_price=deal.curs_open,
        settlement=tracked.settlement,
    )
