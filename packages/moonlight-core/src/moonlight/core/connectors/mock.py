"""MockConnector: a deterministic in-memory broker with run-time fault injection.

It serves a seeded :class:`~moonlight.core.connectors.market.RandomWalkMarket`, keeps its
own order book (optionally persisted to a JSON file so it survives a killed process) and
settles contracts by the shared rule in :mod:`moonlight.core.connectors.settlement`.

Like a real broker it does **not** deduplicate by ``client_req_id``: a second request
with the same id opens a second contract. :meth:`MockConnector.placements` counts them,
which is how tests prove the executor never sends an order twice.

Faults are switched through :attr:`MockConnector.faults` at any time:

* scripted queues — ``faults.place`` / ``faults.query`` hold :class:`FaultKind` values
  consumed one per call (``faults.storm_429(5)`` queues five 429s);
* seeded random rates — ``faults.rates`` (probability per call, drawn from the
  connector's seeded RNG, so a run is reproducible);
* latency — ``latency_s`` before a call is processed, ``ack_latency_s`` between accepting
  an order and returning the acknowledgement;
* connection drops — a DISCONNECT fault fails every subscription with
  :class:`Disconnected`, drops pushes, and reconnects after ``reconnect_after_s``;
* pushes — ``duplicate_pushes``, ``reorder_pushes`` (hold one back until the next),
  ``drop_pushes``.

``on_event(name, client_req_id)``, when set, is called at ``"place_called"``,
``"accepted"`` and ``"ack_returning"`` — a deterministic place for tests to pause or kill
the caller at an exact point of the send.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import math
import os
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from moonlight.core.connectors.contract import (
    AccountKind,
    Ambiguous,
    AuthFailed,
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
    RateLimited,
    Rejected,
    Settlement,
    Tick,
    Transient,
)
from moonlight.core.connectors.market import DEFAULT_SPECS, MarketSpec, RandomWalkMarket
from moonlight.core.connectors.settlement import settle_contract
from moonlight.core.connectors.streams import Subscription
from moonlight.core.orders import Direction, Outcome
from moonlight.core.runtime.clock import Clock, WallClock

DEFAULT_DURATIONS_S: tuple[int, ...] = (5, 15, 30, 60, 120, 300, 900, 1800, 3600)


async def _sleep(clock: Clock, seconds: float) -> None:
    await clock.sleep_until(clock.now() + seconds)


class FaultKind(StrEnum):
    """One injected failure of one call."""

    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    DISCONNECT = "disconnect"
    TIMEOUT_BEFORE_ACCEPT = "timeout_before_accept"
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"
    REJECT = "reject"
    AUTH = "auth"


@dataclass
class FaultRates:
    """Per-call probabilities of random faults (drawn from the connector's seeded RNG)."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    disconnect: float = 0.0
    timeout_before_accept: float = 0.0
    timeout_after_accept: float = 0.0

    def draw(self, rng: random.Random, *, placing: bool) -> FaultKind | None:
        """At most one fault for this call, or ``None``."""
        choices = [
            (FaultKind.RATE_LIMIT, self.rate_limit),
            (FaultKind.SERVER_ERROR, self.server_error),
            (FaultKind.DISCONNECT, self.disconnect),
            (FaultKind.TIMEOUT_BEFORE_ACCEPT, self.timeout_before_accept),
        ]
        if placing:
            choices.append((FaultKind.TIMEOUT_AFTER_ACCEPT, self.timeout_after_accept))
        roll = rng.random()
        for kind, probability in choices:
            if roll < probability:
                return kind
            roll -= probability
        return None


@dataclass
class Faults:
    """Fault-injection switches of a :class:`MockConnector`; change them at run time."""

    place: deque[FaultKind] = field(default_factory=deque)
    query: deque[FaultKind] = field(default_factory=deque)
    rates: FaultRates = field(default_factory=FaultRates)
    retry_after_s: float = 1.0
    timeout_s: float = 5.0
    latency_s: float = 0.0
    ack_latency_s: float = 0.0
    reconnect_after_s: float = 2.0
    duplicate_pushes: bool = False
    reorder_pushes: bool = False
    drop_pushes: bool = False
    reject_reason: str = "rejected by mock broker"

    def storm_429(self, calls: int, retry_after_s: float | None = None) -> None:
        """The next ``calls`` requests of every kind answer 429 with Retry-After."""
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s
        self.place.extend([FaultKind.RATE_LIMIT] * calls)
        self.query.extend([FaultKind.RATE_LIMIT] * calls)

    def storm_5xx(self, calls: int) -> None:
        """The next ``calls`` requests of every kind fail with a server error."""
        self.place.extend([FaultKind.SERVER_ERROR] * calls)
        self.query.extend([FaultKind.SERVER_ERROR] * calls)

    def clear(self) -> None:
        """Remove every fault: queues, rates, latency and push anomalies."""
        self.place.clear()
        self.query.clear()
        self.rates = FaultRates()
        self.latency_s = 0.0
        self.ack_latency_s = 0.0
        self.duplicate_pushes = self.reorder_pushes = self.drop_pushes = False


@dataclass
class _Contract:
    """The mock broker's record of one accepted order."""

    broker_order_id: str
    client_req_id: str
    account_id: str
    instrument: str
    direction: Direction
    stake: float
    duration_s: int
    payout_pct: float
    accepted_ts: float
    expires_ts: float
    entry_price: float | None = None
    exit_price: float | None = None
    outcome: Outcome | None = None
    pnl: float | None = None
    settled_ts: float | None = None

    def settlement(self) -> Settlement | None:
        if self.outcome is None or self.pnl is None or self.settled_ts is None:
            return None
        return Settlement(
            broker_order_id=self.broker_order_id,
            client_req_id=self.client_req_id,
            account_id=self.account_id,
            outcome=self.outcome,
            pnl=self.pnl,
            entry_price=self.entry_price,
            exit_price=self.exit_price,
            settled_ts=self.settled_ts,
        )

    def view(self) -> BrokerOrder:
        settlement = self.settlement()
        return BrokerOrder(
            broker_order_id=self.broker_order_id,
            client_req_id=self.client_req_id,
            account_id=self.account_id,
            instrument=self.instrument,
            direction=self.direction,
            stake=self.stake,
            duration_s=self.duration_s,
            payout_pct=self.payout_pct,
            accepted_ts=self.accepted_ts,
            expires_ts=self.expires_ts,
            status=BrokerOrderStatus.OPEN if settlement is None else BrokerOrderStatus.SETTLED,
            entry_price=self.entry_price,
            settlement=settlement,
        )


class MockConnector(Connector):
    """Deterministic, seedable broker double; see the module docstring."""

    name = "mock"

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        specs: Sequence[MarketSpec] = DEFAULT_SPECS,
        payout_pct: float = 82.0,
        stake_min: float = 1.0,
        stake_max: float = 1000.0,
        durations_s: Sequence[int] = DEFAULT_DURATIONS_S,
        starting_balance: float = 10_000.0,
        currency: str = "USD",
        tick_interval_s: float = 1.0,
        history_s: float = 2 * 86_400.0,
        settle_delay_s: float = 0.0,
        state_path: Path | None = None,
        market: RandomWalkMarket | None = None,
        account_kind: AccountKind = AccountKind.DEMO,
    ) -> None:
        self.clock: Clock = clock or WallClock()
        #: What every account of this broker is (tests switch it to play a real broker).
        self.account_kind = account_kind
        self._epoch = 0
        self.seed = seed
        self.faults = Faults()
        self.on_event: Callable[[str, str], None] | None = None
        self._rng = random.Random(seed)
        self._specs = tuple(specs)
        self._payout_pct = payout_pct
        self._stake_limits = (stake_min, stake_max)
        self._durations_s = tuple(sorted(durations_s))
        self._starting_balance = starting_balance
        self._currency = currency
        self._tick_interval_s = tick_interval_s
        self._history_s = history_s
        self._settle_delay_s = settle_delay_s
        self._state_path = state_path
        self.market = market
        self._contracts: dict[str, _Contract] = {}
        self._by_client: dict[str, list[str]] = {}
        self._balances: dict[str, float] = {}
        self._due: list[tuple[float, str]] = []
        self._next_id = 1
        self._origin_ts: float | None = market.origin_ts if market else None
        self._connected = False
        self._reconnect_at: float | None = None
        self._pump: asyncio.Task[None] | None = None
        self._settlement_subs: dict[str, list[Subscription[Settlement]]] = {}
        self._tick_subs: dict[str, list[Subscription[Tick]]] = {}
        self._candle_subs: dict[tuple[str, int], list[Subscription[Candle]]] = {}
        self._held_push: Settlement | None = None
        self._last_pump_ts: float | None = None
        self.calls: dict[str, int] = {}
        if state_path is not None and state_path.exists():
            self._load_state(state_path)

    # -- inspection (tests) -----------------------------------------------------------

    def placements(self, client_req_id: str) -> int:
        """How many contracts the broker opened for ``client_req_id``."""
        return len(self._by_client.get(client_req_id, ()))

    def all_orders(self) -> list[BrokerOrder]:
        """Every contract in the book, open and settled, in acceptance order."""
        self._settle_due(self.clock.now())
        return [contract.view() for contract in self._contracts.values()]

    def book_balance(self, account_id: str) -> float:
        """The account's balance in the broker's book (no faults, no latency)."""
        self._settle_due(self.clock.now())
        return self._balance(account_id)

    @property
    def connected(self) -> bool:
        """True while calls would reach the broker."""
        self._maybe_reconnect()
        return self._connected and self._reconnect_at is None

    # -- life cycle -------------------------------------------------------------------

    async def connect(self) -> None:
        """Start the broker's clock-driven pump (settlements, ticks, candles)."""
        self._ensure_market()
        if not self._connected or self._reconnect_at is not None:
            self._epoch += 1
        self._connected = True
        self._reconnect_at = None
        if self._pump is None or self._pump.done():
            self._last_pump_ts = self.clock.now()
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def close(self) -> None:
        """Stop the pump and end every subscription."""
        self._connected = False
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        for subs in self._all_subscriptions():
            subs.end()

    # -- market data ------------------------------------------------------------------

    async def server_time(self) -> float:
        await self._call("server_time", placing=False)
        return self.clock.now()

    async def instruments(self) -> Sequence[Instrument]:
        await self._call("instruments", placing=False)
        return self._instrument_list()

    async def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> Sequence[Candle]:
        await self._call("candles", placing=False)
        market = self._ensure_market()
        now = self.clock.now()
        end = now if end_ts is None else min(end_ts, now)
        return market.candles(instrument, timeframe_s, count=count, end_ts=end)

    def subscribe_candles(self, instrument: str, timeframe_s: int) -> AsyncIterator[Candle]:
        self._ensure_market().specs[instrument]  # KeyError for an unknown instrument
        key = (instrument, timeframe_s)
        return self._subscribe(self._candle_subs.setdefault(key, []))

    def subscribe_ticks(self, instrument: str) -> AsyncIterator[Tick]:
        self._ensure_market().specs[instrument]
        return self._subscribe(self._tick_subs.setdefault(instrument, []))

    def subscribe_settlements(self, account_id: str) -> AsyncIterator[Settlement]:
        return self._subscribe(self._settlement_subs.setdefault(account_id, []))

    # -- orders -----------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        self._emit("place_called", request.client_req_id)
        fault = await self._call("place_order", placing=True)
        if fault is FaultKind.REJECT:
            raise Rejected(self.faults.reject_reason)
        if fault is FaultKind.TIMEOUT_BEFORE_ACCEPT:
            await _sleep(self.clock, self.faults.timeout_s)
            raise Ambiguous("timed out waiting for the broker (request lost on the way)")
        contract = self._accept(request)
        self._emit("accepted", request.client_req_id)
        if fault is FaultKind.TIMEOUT_AFTER_ACCEPT:
            await _sleep(self.clock, self.faults.timeout_s)
            raise Ambiguous("timed out waiting for the broker (answer lost on the way back)")
        if self.faults.ack_latency_s > 0:
            await _sleep(self.clock, self.faults.ack_latency_s)
        self._emit("ack_returning", request.client_req_id)
        return contract.view().ack()

    async def order_status(self, account_id: str, broker_order_id: str) -> BrokerOrder | None:
        await self._call("order_status", placing=False)
        self._settle_due(self.clock.now())
        contract = self._contracts.get(broker_order_id)
        if contract is None or contract.account_id != account_id:
            return None
        return contract.view()

    async def find_order(self, request: OrderRequest) -> BrokerOrder | None:
        await self._call("find_order", placing=False)
        self._settle_due(self.clock.now())
        ids = self._by_client.get(request.client_req_id)
        return self._contracts[ids[0]].view() if ids else None

    async def open_orders(self, account_id: str) -> Sequence[BrokerOrder]:
        await self._call("open_orders", placing=False)
        self._settle_due(self.clock.now())
        return [
            c.view()
            for c in self._contracts.values()
            if c.account_id == account_id and c.outcome is None
        ]

    async def balance(self, account_id: str) -> Balance:
        await self._call("balance", placing=False)
        self._settle_due(self.clock.now())
        return Balance(account_id, self._balance(account_id), self._currency)

    async def account_info(self, account_id: str) -> BrokerAccount:
        await self._call("account_info", placing=False)
        self._settle_due(self.clock.now())
        return BrokerAccount(
            account_id, self.account_kind, self._currency, self._balance(account_id)
        )

    @property
    def connection_epoch(self) -> int:
        self._maybe_reconnect()
        return self._epoch

    # -- the broker's book ------------------------------------------------------------

    def _instrument_list(self) -> list[Instrument]:
        return [
            Instrument(
                symbol=spec.symbol,
                payout_pct=self._payout_pct,
                stake_min=self._stake_limits[0],
                stake_max=self._stake_limits[1],
                durations_s=self._durations_s,
                currency=self._currency,
                digits=spec.digits,
            )
            for spec in self._specs
        ]

    def _balance(self, account_id: str) -> float:
        return self._balances.setdefault(account_id, self._starting_balance)

    def _accept(self, request: OrderRequest) -> _Contract:
        instrument = next(
            (i for i in self._instrument_list() if i.symbol == request.instrument), None
        )
        if instrument is None:
            raise Rejected(f"unknown instrument {request.instrument!r}")
        problem = instrument.check(request.stake, request.duration_s)
        if problem is not None:
            raise Rejected(problem)
        if request.min_payout_pct is not None and instrument.payout_pct < request.min_payout_pct:
            raise Rejected(
                f"payout {instrument.payout_pct:g}% below requested {request.min_payout_pct:g}%"
            )
        balance = self._balance(request.account_id)
        if balance < request.stake:
            raise Rejected(f"insufficient balance {balance:g} for stake {request.stake:g}")
        now = self.clock.now()
        broker_id = f"M{self._next_id:08d}"
        self._next_id += 1
        contract = _Contract(
            broker_order_id=broker_id,
            client_req_id=request.client_req_id,
            account_id=request.account_id,
            instrument=request.instrument,
            direction=request.direction,
            stake=request.stake,
            duration_s=request.duration_s,
            payout_pct=instrument.payout_pct,
            accepted_ts=now,
            expires_ts=now + request.duration_s,
        )
        self._balances[request.account_id] = round(balance - request.stake, 8)
        self._contracts[broker_id] = contract
        self._by_client.setdefault(request.client_req_id, []).append(broker_id)
        heapq.heappush(self._due, (contract.expires_ts, broker_id))
        self._save_state()
        return contract

    def _settle_due(self, now: float) -> list[Settlement]:
        """Settle every contract whose expiry (plus settle delay) has passed."""
        market = self._ensure_market()
        settled: list[Settlement] = []
        while self._due and self._due[0][0] + self._settle_delay_s <= now:
            _, broker_id = heapq.heappop(self._due)
            contract = self._contracts[broker_id]
            if contract.outcome is not None:
                continue
            entry_ts, entry = market.first_price_after(contract.instrument, contract.accepted_ts)
            exit_price = market.price_at(contract.instrument, contract.expires_ts)
            if exit_price is None or entry_ts > contract.expires_ts:
                exit_price = entry
            result = settle_contract(
                contract.direction, contract.stake, contract.payout_pct, entry, exit_price
            )
            contract.entry_price, contract.exit_price = entry, exit_price
            contract.outcome, contract.pnl = result.outcome, result.pnl
            contract.settled_ts = max(now, contract.expires_ts)
            self._balances[contract.account_id] = round(
                self._balance(contract.account_id) + result.credit, 8
            )
            settlement = contract.settlement()
            assert settlement is not None
            settled.append(settlement)
        if settled:
            self._save_state()
        return settled

    # -- faults, pump and pushes ------------------------------------------------------

    def _emit(self, name: str, client_req_id: str) -> None:
        if self.on_event is not None:
            self.on_event(name, client_req_id)

    async def _call(self, op: str, *, placing: bool) -> FaultKind | None:
        """Apply latency and faults to one call; returns a fault the caller must act on."""
        self.calls[op] = self.calls.get(op, 0) + 1
        if self.faults.latency_s > 0:
            await _sleep(self.clock, self.faults.latency_s)
        if not self._connected:
            raise Disconnected("mock connector is not connected")
        self._maybe_reconnect()
        if self._reconnect_at is not None:
            raise Disconnected("mock connection is down (reconnecting)")
        queue = self.faults.place if placing else self.faults.query
        fault = queue.popleft() if queue else self.faults.rates.draw(self._rng, placing=placing)
        if fault is FaultKind.RATE_LIMIT:
            raise RateLimited(self.faults.retry_after_s, "429 Too Many Requests")
        if fault is FaultKind.SERVER_ERROR:
            raise Transient("503 Service Unavailable")
        if fault is FaultKind.AUTH:
            raise AuthFailed("token expired")
        if fault is FaultKind.DISCONNECT:
            self._drop_connection()
            raise Disconnected("connection reset by peer")
        if not placing and fault is FaultKind.TIMEOUT_BEFORE_ACCEPT:
            await _sleep(self.clock, self.faults.timeout_s)
            raise Transient("query timed out")
        return fault

    def drop_connection(self) -> None:
        """Simulate a dropped socket now (subscriptions fail, pushes are lost)."""
        self._drop_connection()

    def _drop_connection(self) -> None:
        self._reconnect_at = self.clock.now() + self.faults.reconnect_after_s
        for sub in self._all_subscriptions():
            sub.fail(Disconnected("connection reset by peer"))
        self._settlement_subs.clear()
        self._tick_subs.clear()
        self._candle_subs.clear()
        self._held_push = None

    def _maybe_reconnect(self) -> None:
        if self._reconnect_at is not None and self.clock.now() >= self._reconnect_at:
            self._reconnect_at = None
            self._epoch += 1

    def _all_subscriptions(self) -> list[Subscription[Any]]:
        subs: list[Subscription[Any]] = []
        for group in (self._settlement_subs, self._tick_subs, self._candle_subs):
            for items in group.values():
                subs.extend(items)
        return subs

    def _subscribe(self, group: list[Subscription[Any]]) -> Subscription[Any]:
        if not self.connected:
            failed: Subscription[Any] = Subscription()
            failed.fail(Disconnected("mock connector is not connected"))
            return failed
        sub: Subscription[Any] = Subscription(on_close=group.remove)
        group.append(sub)
        return sub

    async def _run_pump(self) -> None:
        while True:
            await _sleep(self.clock, self._tick_interval_s)
            self._pump_once()

    def _pump_once(self) -> None:
        now = self.clock.now()
        self._maybe_reconnect()
        settled = self._settle_due(now)
        previous = self._last_pump_ts if self._last_pump_ts is not None else now
        self._last_pump_ts = now
        if self._reconnect_at is not None:
            return  # down: pushes are lost, exactly what reconciliation must survive
        for settlement in settled:
            self._push_settlement(settlement)
        market = self._ensure_market()
        for instrument, subs in self._tick_subs.items():
            times, prices = market.ticks(instrument, previous, now)
            for ts, price in zip(times.tolist(), prices.tolist(), strict=True):
                for sub in list(subs):
                    sub.put(Tick(instrument, ts, price))
        for (instrument, timeframe_s), candle_subs in self._candle_subs.items():
            closed = int(now // timeframe_s) - int(previous // timeframe_s)
            if closed > 0:
                for candle in market.candles(instrument, timeframe_s, count=closed, end_ts=now):
                    for candle_sub in list(candle_subs):
                        candle_sub.put(candle)

    def _push_settlement(self, settlement: Settlement) -> None:
        if self.faults.drop_pushes:
            return
        batch = [settlement]
        if self.faults.reorder_pushes:
            if self._held_push is None:
                self._held_push = settlement
                return
            batch = [settlement, self._held_push]
            self._held_push = None
        elif self._held_push is not None:
            batch = [self._held_push, settlement]
            self._held_push = None
        for item in batch:
            copies = 2 if self.faults.duplicate_pushes else 1
            for sub in list(self._settlement_subs.get(item.account_id, ())):
                for _ in range(copies):
                    sub.put(item)

    # -- market and persistence -------------------------------------------------------

    def _ensure_market(self) -> RandomWalkMarket:
        if self.market is None:
            if self._origin_ts is None:
                # Aligned to a UTC midnight: a restart on the same day sees the same prices.
                earliest = self.clock.now() - self._history_s
                self._origin_ts = float(math.floor(earliest / 86_400.0) * 86_400.0)
            self.market = RandomWalkMarket(
                seed=self.seed,
                origin_ts=self._origin_ts,
                specs=self._specs,
                tick_interval_s=self._tick_interval_s,
            )
            self._save_state()
        return self.market

    def _save_state(self) -> None:
        """Write the book atomically (temp file + replace) when a state path is set."""
        if self._state_path is None:
            return
        state = {
            "seed": self.seed,
            "origin_ts": self._origin_ts,
            "next_id": self._next_id,
            "balances": self._balances,
            "contracts": [asdict(c) for c in self._contracts.values()],
        }
        tmp = self._state_path.with_name(self._state_path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._state_path)

    def _load_state(self, path: Path) -> None:
        state = json.loads(path.read_text(encoding="utf-8"))
        if state["seed"] != self.seed:
            raise ValueError(f"{path} holds a book of seed {state['seed']}, not {self.seed}")
        self._origin_ts = state["origin_ts"]
        self._next_id = state["next_id"]
        self._balances = {k: float(v) for k, v in state["balances"].items()}
        for raw in state["contracts"]:
            raw["direction"] = Direction(raw["direction"])
            raw["outcome"] = Outcome(raw["outcome"]) if raw["outcome"] else None
            contract = _Contract(**raw)
            self._contracts[contract.broker_order_id] = contract
            self._by_client.setdefault(contract.client_req_id, []).append(contract.broker_order_id)
            if contract.outcome is None:
                heapq.heappush(self._due, (contract.expires_ts, contract.broker_order_id))
