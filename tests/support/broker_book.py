"""Broker truth: compare what MoonLight stored with what the broker's own book holds.

A fake broker (written from the protocol brief, not from a connector) exposes its book
as :class:`BookDeal` rows; :func:`audit` reads the ``orders``/``results`` tables and
lists every disagreement. A fault-schedule test ends with ``assert not audit(...)``:

* every broker deal is stored exactly once (never under two orders), with the same
  outcome and PnL;
* no order stored FAILED/abort that the broker actually opened and settled;
* no broker deal that storage does not know, and no duplicate ``client_req_id``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.orders import OrderState, Outcome
from moonlight.core.storage.models import Order, Result


@dataclass(frozen=True, slots=True)
class BookDeal:
    """One deal as the broker's own book holds it."""

    broker_order_id: str
    client_req_id: str | None
    """MoonLight's id when the broker echoes it (passthrough, request id), else None."""
    stake: float
    outcome: Outcome | None
    """None while the deal is still open at the broker."""
    pnl: float | None


@dataclass(frozen=True, slots=True)
class StoredDeal:
    """One order as MoonLight stored it."""

    client_req_id: str
    broker_order_id: str | None
    state: OrderState
    outcome: Outcome | None
    pnl: float | None
    reason: str | None


def stored_deals(sessions: sessionmaker[Session]) -> list[StoredDeal]:
    """Every stored order with its result (if any), oldest first."""
    with sessions() as session:
        rows = session.execute(
            select(Order, Result).outerjoin(Result, Result.order_id == Order.id).order_by(Order.id)
        ).all()
    return [
        StoredDeal(
            order.client_req_id,
            order.broker_order_id,
            order.state,
            None if result is None else result.outcome,
            None if result is None else float(result.pnl),
            None if result is None else result.reason,
        )
        for order, result in rows
    ]


def audit(
    sessions: sessionmaker[Session], book: Iterable[BookDeal], *, pnl_tolerance: float = 1e-6
) -> list[str]:
    """Every way storage and the broker's book disagree (empty when they agree).

    Deals still open at the broker only need a stored order with their broker id; a
    settled deal needs a stored SETTLED result with the same outcome and PnL.
    """
    stored = stored_deals(sessions)
    problems: list[str] = []
    counts = Counter(deal.client_req_id for deal in stored)
    problems += [f"client_req_id {cid} stored {n} times" for cid, n in counts.items() if n > 1]
    per_broker = Counter(deal.broker_order_id for deal in stored if deal.broker_order_id)
    problems += [
        f"broker deal {bid} stored for {n} orders" for bid, n in per_broker.items() if n > 1
    ]
    by_broker = {deal.broker_order_id: deal for deal in stored if deal.broker_order_id}
    by_client = {deal.client_req_id: deal for deal in stored}
    deals = list(book)
    per_client = Counter(deal.client_req_id for deal in deals if deal.client_req_id)
    problems += [
        f"broker holds {n} deals for client_req_id {cid}" for cid, n in per_client.items() if n > 1
    ]
    for deal in deals:
        mine = by_broker.get(deal.broker_order_id)
        if mine is None and deal.client_req_id is not None:
            mine = by_client.get(deal.client_req_id)
        if mine is None:
            problems.append(f"broker deal {deal.broker_order_id} is unknown to storage")
            continue
        if deal.client_req_id is not None and mine.client_req_id != deal.client_req_id:
            problems.append(
                f"broker deal {deal.broker_order_id} was bought for {deal.client_req_id}"
                f" but is stored under {mine.client_req_id}"
            )
        if deal.outcome is None:
            continue
        if mine.state is not OrderState.SETTLED or mine.outcome is not deal.outcome:
            problems.append(
                f"{mine.client_req_id}: broker settled {deal.broker_order_id} as"
                f" {deal.outcome.value} {deal.pnl:+g}, storage says {mine.state.value}"
                f" {mine.outcome.value if mine.outcome else '-'}"
                f"{f' ({mine.reason})' if mine.reason else ''}"
            )
        elif mine.pnl is None or deal.pnl is None or abs(mine.pnl - deal.pnl) > pnl_tolerance:
            problems.append(f"{mine.client_req_id}: PnL {mine.pnl} stored, broker says {deal.pnl}")
    known = {deal.broker_order_id for deal in deals}
    known_clients = {deal.client_req_id for deal in deals if deal.client_req_id}
    for mine in stored:
        at_broker = mine.broker_order_id in known or mine.client_req_id in known_clients
        if mine.state is OrderState.SETTLED and not at_broker:
            problems.append(f"{mine.client_req_id}: stored SETTLED but the broker has no such deal")
    return problems
