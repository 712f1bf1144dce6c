"""The broker connector contract: what the executor, workers and paper broker rely on.

Every broker connector (the mock, the paper broker, Olymp Trade, Deriv, a user's own) is
an async :class:`Connector`. The executor is written against this contract only, so a
connector that honours it plugs into the order state machine unchanged.

Conventions
-----------
* Times are UTC epoch seconds as ``float`` and end in ``_ts`` (``accepted_ts``); spans
  end in ``_s``. Epoch floats keep the hot path (ticks, candles, simulated clocks)
  allocation-free; storage converts them to aware datetimes at its boundary.
* Payouts are percent of stake: ``payout_pct=82.0`` means a winning stake of 10 is
  returned with 8.20 of profit (18.20 credited in total).
* Money is ``float`` in the account currency.

Error semantics (the part the executor's safety rests on)
---------------------------------------------------------
Every failure a connector reports is one of the :class:`ConnectorError` subclasses
below, and each one says **whether the broker may have acted**:

=================  =======================================  ==================================
error              meaning                                   may the broker have the order?
=================  =======================================  ==================================
RateLimited        the broker refused for pacing             no (retry after ``retry_after_s``)
Transient          5xx-style failure before execution        no (retry with backoff)
Disconnected       no connection; nothing was written        no (retry once reconnected)
Rejected           the broker refused this request           no (do not retry)
AuthFailed         credentials refused or expired            no (stop; operator action)
Ambiguous          the request left, no answer came back     **maybe** — never re-send blindly
=================  =======================================  ==================================

A connector must raise :class:`Ambiguous` — not ``Transient`` or ``Disconnected`` —
whenever ``place_order`` wrote its request to the wire and did not receive a definitive
answer (timeout, dropped socket after the write, a 502 from a proxy after forwarding).
Any other exception escaping ``place_order`` is treated as ``Ambiguous`` by the executor.

Reconciliation
--------------
Brokers rarely index orders by the client's id. :meth:`Connector.find_order` receives the
whole :class:`OrderRequest` so a connector can match on its own correlation map (Olymp's
request uuid, Deriv's ``passthrough``) or, failing that, on account, instrument,
direction, stake and duration among open and recently closed orders. It returns ``None``
only when the broker definitely has no such order; when it cannot tell it raises.

Account truth
-------------
What an account *is* comes from the broker, never from the connector's options:
:meth:`Connector.account_info` reports the kind of money it holds (paper, demo, real),
its currency and balance as the broker states them after connecting, and
:attr:`Connector.connection_epoch` changes on every successful (re)connect, so the
engine can check an account's configured ``mode`` again before the next order whenever
the connection was re-established (a reconnect may land on another account).

Subscriptions
-------------
``subscribe_*`` return an :class:`AsyncIterator`. When the connection drops and the
connector cannot guarantee the stream continues without a gap, the iterator raises
:class:`Disconnected`; the caller subscribes again once the connector is back (and the
executor reconciles by polling, so a lost settlement push costs latency, not a result).
Connectors may deliver a settlement more than once and out of order; consumers must be
idempotent.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from moonlight.core.orders import Direction, Outcome

# ------------------------------------------------------------------------------ errors


class ConnectorError(Exception):
    """Base of every failure a connector reports; see the module table for semantics."""


class RateLimited(ConnectorError):
    """The broker refused the call for pacing (HTTP 429 or its equivalent)."""

    def __init__(self, retry_after_s: float, message: str = "rate limited") -> None:
        super().__init__(f"{message} (retry after {retry_after_s:g} s)")
        self.retry_after_s = max(0.0, float(retry_after_s))


class Transient(ConnectorError):
    """A temporary broker-side failure before the request was executed (5xx-style)."""


class Rejected(ConnectorError):
    """The broker refused this request (limits, closed market, payout moved, funds).

    ``code`` is a stable, machine-readable reason (``stake_below_broker_min``,
    ``price_moved``, ``market_closed``...) that the executor stores on the order and
    counts in metrics and alarms; ``reason`` is the human sentence.
    """

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class AuthFailed(ConnectorError):
    """Credentials were refused or expired and could not be renewed."""


class Disconnected(ConnectorError):
    """No usable connection; the request was not written to the wire."""


class Ambiguous(ConnectorError):
    """The request may or may not have reached the broker; reconcile before acting."""


#: Errors after which a place-order request may be retried: the broker did not act.
RETRYABLE_SEND_ERRORS: tuple[type[ConnectorError], ...] = (RateLimited, Transient, Disconnected)

# ------------------------------------------------------------------------ data classes


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable instrument with its current payout and the broker's limits."""

    symbol: str
    payout_pct: float
    stake_min: float
    stake_max: float
    durations_s: tuple[int, ...]
    currency: str = "USD"
    is_open: bool = True
    digits: int = 5

    def check(self, stake: float, duration_s: int) -> str | None:
        """Why a stake/duration is not allowed here, or ``None`` when it is."""
        if not self.is_open:
            return f"{self.symbol} is closed"
        if not self.stake_min <= stake <= self.stake_max:
            return f"stake {stake:g} outside [{self.stake_min:g}, {self.stake_max:g}]"
        if duration_s not in self.durations_s:
            return f"duration {duration_s} s not offered (allowed: {list(self.durations_s)})"
        return None


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV bar covering ``[start_ts, start_ts + timeframe_s)``."""

    instrument: str
    timeframe_s: int
    start_ts: float
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def end_ts(self) -> float:
        """The instant the bar closes (exclusive end of its interval)."""
        return self.start_ts + self.timeframe_s


@dataclass(frozen=True, slots=True)
class Tick:
    """One price observation."""

    instrument: str
    ts: float
    price: float


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the executor asks a broker to open: one fixed-time contract.

    ``client_req_id`` is MoonLight's idempotency key (unique in storage). ``created_ts``
    is when the decision was made; connectors that match orders heuristically use it to
    bound their search. ``min_payout_pct`` lets a connector refuse when the payout moved
    below what the decision assumed (brokers that support a max price/min payout pass it
    on; others compare with their latest quote).
    """

    client_req_id: str
    account_id: str
    instrument: str
    direction: Direction
    stake: float
    duration_s: int
    created_ts: float
    min_payout_pct: float | None = None


@dataclass(frozen=True, slots=True)
class OrderAck:
    """The broker accepted the order: its id, when, and on what terms."""

    client_req_id: str
    broker_order_id: str
    accepted_ts: float
    expires_ts: float
    payout_pct: float
    stake: float
    entry_price: float | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """A contract's final result as the broker reports it.

    ``pnl`` is the profit (+) or loss (-) in account currency: ``stake * payout_pct/100``
    on a win, ``-stake`` on a loss, ``0`` on a push.
    """

    broker_order_id: str
    client_req_id: str | None
    account_id: str
    outcome: Outcome
    pnl: float
    entry_price: float | None
    exit_price: float | None
    settled_ts: float


class BrokerOrderStatus(StrEnum):
    """Where an accepted order is at the broker."""

    OPEN = "open"
    SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """The broker's view of one accepted order; ``settlement`` is set once settled."""

    broker_order_id: str
    client_req_id: str | None
    account_id: str
    instrument: str
    direction: Direction
    stake: float
    duration_s: int
    payout_pct: float
    accepted_ts: float
    expires_ts: float
    status: BrokerOrderStatus
    entry_price: float | None = None
    settlement: Settlement | None = None

    def ack(self) -> OrderAck:
        """This order as the acknowledgement ``place_order`` would have returned."""
        return OrderAck(
            client_req_id=self.client_req_id or "",
            broker_order_id=self.broker_order_id,
            accepted_ts=self.accepted_ts,
            expires_ts=self.expires_ts,
            payout_pct=self.payout_pct,
            stake=self.stake,
            entry_price=self.entry_price,
        )


class AccountKind(StrEnum):
    """What kind of money an account trades, as the broker reports it."""

    PAPER = "paper"
    """MoonLight's own paper book: no broker holds the stake."""
    DEMO = "demo"
    """A broker's practice (virtual-money) account."""
    REAL = "real"
    """Real money at the broker."""


@dataclass(frozen=True, slots=True)
class BrokerAccount:
    """One account as the broker reports it after connecting (never from options)."""

    account_id: str
    """MoonLight's id of the account."""
    kind: AccountKind
    currency: str
    balance: float
    broker_account_id: str | None = None
    """The broker's own id (login id, account number) when it differs."""


@runtime_checkable
class DeclaresAccountKind(Protocol):
    """A connector config model that can say, from its options alone, what account
    kind they select for a MoonLight account id (``config check`` compares it with the
    account's ``mode`` before anything connects). ``None``: cannot tell statically."""

    def account_kind_for(self, account_id: str) -> AccountKind | None: ...


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's available balance."""

    account_id: str
    amount: float
    currency: str


#: One candle series: ``(instrument, timeframe_s)``.
SeriesKey = tuple[str, int]

# ---------------------------------------------------------------------------- contract


class Connector(abc.ABC):
    """An async broker connection: market data, order placement and reconciliation.

    One instance serves one or more accounts of one broker. All methods run on the
    engine's event loop; none may block it. Every method may raise the
    :class:`ConnectorError` subclasses documented in this module, with the semantics
    of the module's table.
    """

    #: Registry name of the connector kind (``"mock"``, ``"paper"``, ``"olymp"``...).
    name: str = "connector"

    # -- life cycle -------------------------------------------------------------------

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the connection (authenticate, bootstrap). Idempotent."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the connection and end every subscription. Idempotent."""

    # -- market data ------------------------------------------------------------------

    @abc.abstractmethod
    async def server_time(self) -> float:
        """The broker's clock, as epoch seconds (workers align bars to it)."""

    @abc.abstractmethod
    async def instruments(self) -> Sequence[Instrument]:
        """Tradable instruments with current payouts, stake limits and durations."""

    @abc.abstractmethod
    async def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> Sequence[Candle]:
        """Up to ``count`` closed candles ending at or before ``end_ts`` (default: now).

        Oldest first. Fewer are returned when the broker has less history.
        """

    async def candles_batch(
        self, series: Sequence[SeriesKey], *, count: int, end_ts: float
    ) -> dict[SeriesKey, Sequence[Candle]]:
        """The closed candles of many series at one instant, in one call.

        For each distinct ``(instrument, timeframe_s)`` of ``series``: exactly what
        :meth:`candles` returns for it with the same ``count`` and ``end_ts``. The engine
        asks once per connector per instant (every worker due at a bar close) instead of
        once per worker, so a broker with a multi-series request can answer in one round
        trip. This default asks :meth:`candles` for each distinct series in turn (in
        order, never concurrently, so a broker's pacing sees what it saw before) and
        raises the first error as :meth:`candles` would; connectors override it when
        their broker can do better.
        """
        answer: dict[SeriesKey, Sequence[Candle]] = {}
        for key in series:
            if key not in answer:
                instrument, timeframe_s = key
                answer[key] = await self.candles(
                    instrument, timeframe_s, count=count, end_ts=end_ts
                )
        return answer

    @abc.abstractmethod
    def subscribe_candles(self, instrument: str, timeframe_s: int) -> AsyncIterator[Candle]:
        """Each candle of ``instrument`` as it closes, in time order."""

    @abc.abstractmethod
    def subscribe_ticks(self, instrument: str) -> AsyncIterator[Tick]:
        """Each price update of ``instrument``, in time order."""

    # -- orders -----------------------------------------------------------------------

    @abc.abstractmethod
    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Open one fixed-time contract; returns the broker's acknowledgement.

        Raises :class:`Ambiguous` when the request may have reached the broker without
        a definitive answer (see the module table).
        """

    @abc.abstractmethod
    async def order_status(self, account_id: str, broker_order_id: str) -> BrokerOrder | None:
        """The broker's current view of one order, ``None`` if the broker has no such id."""

    @abc.abstractmethod
    async def find_order(self, request: OrderRequest) -> BrokerOrder | None:
        """The order the broker opened for ``request.client_req_id``, open or settled.

        ``None`` only when the broker definitely has no such order; raises
        :class:`Transient`, :class:`Disconnected` or :class:`RateLimited` when it cannot
        tell. Used after an :class:`Ambiguous` send and during start-up reconciliation.
        """

    @abc.abstractmethod
    async def open_orders(self, account_id: str) -> Sequence[BrokerOrder]:
        """Every order of ``account_id`` the broker still holds open."""

    @abc.abstractmethod
    def subscribe_settlements(self, account_id: str) -> AsyncIterator[Settlement]:
        """Settlement pushes for ``account_id``; may repeat or reorder (be idempotent)."""

    @abc.abstractmethod
    async def balance(self, account_id: str) -> Balance:
        """The account's available balance."""

    # -- account truth ----------------------------------------------------------------

    @abc.abstractmethod
    async def account_info(self, account_id: str) -> BrokerAccount:
        """What ``account_id`` is at the broker: kind (demo/real/paper), currency, balance.

        Read from what the broker said on this connection, never from configuration:
        a connector whose options ask for a demo account but whose broker reports a
        real one returns :attr:`AccountKind.REAL`. Raises like any call when the broker
        cannot be asked.
        """

    @property
    @abc.abstractmethod
    def connection_epoch(self) -> int:
        """Successful (re)connects so far; changes whenever the connection is new.

        The engine re-reads :meth:`account_info` before the next order whenever this
        value differs from the one it last checked.
        """
