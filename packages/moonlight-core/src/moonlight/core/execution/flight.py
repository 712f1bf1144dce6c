"""One order the executor drives, and the only place its state changes.

A :class:`Flight` owns its :attr:`~Flight.state`. :meth:`Flight.advance` is the one
way to change it, in a fixed order: check the transition table
(:mod:`~moonlight.core.execution.fsm`), persist (the caller's write, which may raise —
then nothing changed), assign, emit (``on_change``). So no state is ever held that is
not stored, and no observer hears of a state before it is durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from moonlight.core.connectors.contract import BrokerOrder, OrderAck, OrderRequest, Settlement
from moonlight.core.execution.fsm import check_transition
from moonlight.core.orders import OrderState

T = TypeVar("T")

Persist = Callable[[OrderState, OrderState], T]
"""``persist(source, target)``: store the transition; raise to refuse it."""


class Flight:
    """The executor's memory of one order; see the module docstring."""

    def __init__(
        self,
        request: OrderRequest,
        *,
        timeframe: str,
        state: OrderState,
        future: asyncio.Future[Settlement],
        on_change: Callable[[Flight, OrderState, OrderState, str | None], None],
    ) -> None:
        self.request = request
        self.timeframe = timeframe
        self.decided_ts = request.created_ts
        self.future = future
        self._state = state
        self._on_change = on_change
        self.broker_order_id: str | None = None
        self.first_send_ts: float | None = None
        self.last_send_ts: float | None = None
        self.ack_ts: float | None = None
        self.accepted_ts: float | None = None
        self.expires_ts: float | None = None
        self.entry_price: float | None = None
        self.retries = 0

    @property
    def state(self) -> OrderState:
        """Where the order is (as stored)."""
        return self._state

    @property
    def client_req_id(self) -> str:
        return self.request.client_req_id

    def advance(self, target: OrderState, persist: Persist[T], *, reason: str | None = None) -> T:
        """Check, persist, assign, emit; returns what ``persist`` returned.

        Raises :class:`~moonlight.core.execution.fsm.InvalidTransition` for a move the
        table forbids, or whatever ``persist`` raises; the state is unchanged then.
        """
        source = self._state
        check_transition(source, target)
        value = persist(source, target)
        self._state = target
        self._on_change(self, source, target, reason)
        return value

    def learn(self, order: BrokerOrder | OrderAck) -> None:
        """Take the broker's id and times from an acknowledgement or a lookup."""
        self.broker_order_id = order.broker_order_id
        self.accepted_ts = order.accepted_ts
        self.expires_ts = order.expires_ts
        self.entry_price = order.entry_price
