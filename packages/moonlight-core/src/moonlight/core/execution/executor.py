"""The order executor: IDLE → PREPARE → SEND → CONFIRM → SETTLED | FAILED, nothing lost.

Rules it keeps, in the order an order meets them:

1. **Persist before acting.** Each transition is committed (:class:`OrderJournal`) before
   the side effect that follows it: the row exists (PREPARE) before anything is sent, SEND
   is on disk before ``place_order`` is called, CONFIRM before the executor waits.
2. **Retry only what the broker did not act on.** ``RateLimited``, ``Transient`` and
   ``Disconnected`` sends are retried with capped exponential backoff and jitter, never
   sooner than Retry-After (one 429 also holds back the executor's other sends), within
   ``send_deadline_s`` and ``max_send_attempts``. ``Rejected`` fails the order;
   ``AuthFailed`` fails it and halts trading.
3. **Never re-send an ambiguous request.** After ``Ambiguous`` (or any unexpected error
   from ``place_order``) the order moves to CONFIRM and the executor *looks for it*
   (``find_order`` by client_req_id, and settlement pushes) until it is found, or until
   the broker has answered "no such order" for ``ack_grace_s`` after the send → FAILED
   (abort, pnl 0).
4. **Settle by push or poll, with a deadline.** Settlement pushes are routed by broker id
   or client_req_id (duplicates and reordering are harmless: the first one wins, the
   rest are ignored). From ``expiry + first_poll_delay_s`` the executor also polls
   ``order_status``. At ``expiry + max(settle_grace_s, settle_grace_ratio × duration)``
   it asks the broker once more; if the broker answers without a result the order is
   aborted with the reason, pnl = −stake (the stake is at the broker, its result
   unknown) and a critical alarm. The executor never guesses: while the broker cannot be
   reached it raises one critical alarm and keeps asking, so an unreachable broker
   delays a result but never falsifies one (a restart reconciles it the same way).
5. **Storage faults stop trading, never recording.** When a write fails with
   ``StorageUnavailable`` the executor halts new orders, raises a critical alarm, and
   keeps retrying the writes of orders in flight (with backoff) until they succeed. An
   order whose SEND could not be recorded is never sent; it is recorded FAILED once
   storage is back. Trading stays halted until :meth:`Executor.resume_trading` (or
   automatically if ``resume_after_storage_recovery``).

6. **Results are bookkeeping, written per instant.** A terminal move and its result are
   staged into the instant's group commit (:meth:`Journal.stage_finish`), together with
   the guard state the account's trader derives from them, and written in one
   transaction after the instant's decisions. The order's state and the plugin hooks
   change only once that commit is done; a crash before it leaves the order CONFIRM in
   storage, and start-up reconciliation records the broker's result again.

Observers are told through ``notify(hook_name, event=...)`` (``PluginHost.notify`` fits)
*after* the event is stored: ``moonlight_on_order_state_changed`` for every transition,
``moonlight_on_order_settled`` for every final result, ``moonlight_on_alarm`` for alarms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.connectors.contract import (
    AuthFailed,
    BrokerOrder,
    BrokerOrderStatus,
    Connector,
    ConnectorError,
    Disconnected,
    OrderAck,
    OrderRequest,
    RateLimited,
    Rejected,
    Settlement,
    Transient,
)
from moonlight.core.events import AlarmLevel, AlarmRaised, OrderSettled, OrderStateChanged
from moonlight.core.execution.flight import Flight
from moonlight.core.execution.fsm import check_transition
from moonlight.core.execution.journal import Journal, JournalOrder, OrderIntent, ResultRecord
from moonlight.core.execution.observer import FinishedOrder, OrderObserver
from moonlight.core.execution.reconcile import reconcile
from moonlight.core.execution.reconcile_report import ReconcileReport
from moonlight.core.execution.retry import Backoff
from moonlight.core.orders import OrderState, Outcome
from moonlight.core.runtime.clock import Clock
from moonlight.core.storage.errors import StorageUnavailable

log = logging.getLogger("moonlight.executor")

T = TypeVar("T")
Notify = Callable[..., Any]
"""``notify(hook_name, event=...)``, e.g. :meth:`PluginHost.notify`."""
SendGate = Callable[[OrderRequest], Awaitable[None]]
"""Awaited just before every ``place_order`` (e.g. the engine's account-mode check).
Returns when the order may be sent; raises only ``ConnectorError``: ``Rejected`` fails
the order with nothing sent, ``Transient``/``Disconnected`` are retried like a send."""

HOOK_STATE_CHANGED = "moonlight_on_order_state_changed"
HOOK_SETTLED = "moonlight_on_order_settled"
HOOK_ALARM = "moonlight_on_alarm"
REJECTED = "broker_rejected"
"""Reason code of a ``Rejected`` that carries none."""


class ExecutorConfig(BaseModel):
    """Timing and retry policy of the executor (all durations in seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_send_attempts: int = Field(
        default=6, ge=1, le=100, description="Place-order attempts before giving up."
    )
    send_deadline_s: float = Field(
        default=10.0, gt=0, description="Stop retrying a send this long after the first try."
    )
    backoff_base_s: float = Field(default=0.25, gt=0, description="First retry delay.")
    backoff_cap_s: float = Field(default=8.0, gt=0, description="Longest retry delay.")
    backoff_jitter: float = Field(
        default=0.5, ge=0, le=1, description="Fraction of a delay removed at random."
    )
    ack_grace_s: float = Field(
        default=30.0,
        gt=0,
        description="After an ambiguous send (or a restart during SEND), how long the broker"
        " must have definitely not had the order before it is declared never placed.",
    )
    lookup_interval_s: float = Field(
        default=1.0, gt=0, description="Pause between lookups of an ambiguous order."
    )
    first_poll_delay_s: float = Field(
        default=2.0, ge=0, description="Poll the order's status this long after expiry."
    )
    poll_interval_s: float = Field(
        default=2.0, gt=0, description="Pause between status polls after expiry."
    )
    settle_grace_s: float = Field(
        default=30.0, gt=0, description="Minimum wait for a result after expiry."
    )
    settle_grace_ratio: float = Field(
        default=0.25, ge=0, description="Extra wait after expiry as a fraction of the duration."
    )
    still_open_wait_s: float = Field(
        default=900.0,
        ge=0,
        description="After the deadline, how much longer to wait while the broker reports"
        " the order still open (a late clock or settlement) before aborting it.",
    )
    storage_retry_cap_s: float = Field(
        default=5.0, gt=0, description="Longest pause between retries of a failed write."
    )
    reconcile_timeout_s: float = Field(
        default=120.0, gt=0, description="Start-up reconciliation gives up (fails) after this."
    )
    resume_after_storage_recovery: bool = Field(
        default=False,
        description="Resume trading by itself once storage writes succeed again (default:"
        " stay halted until an operator resumes).",
    )

    def settle_deadline_s(self, duration_s: int) -> float:
        """How long after expiry a result may take before reconciliation aborts the order."""
        return max(self.settle_grace_s, self.settle_grace_ratio * duration_s)


class TradingHalted(RuntimeError):
    """The executor does not open orders now (storage fault, auth failure, operator)."""


@dataclass(frozen=True, slots=True)
class OrderReport:
    """Where an order ended up, as :meth:`Executor.execute` returns it."""

    client_req_id: str
    state: OrderState
    outcome: Outcome | None
    pnl: float | None
    broker_order_id: str | None
    reason: str | None = None


@dataclass
class _Routing:
    """Settlement pushes routed to waiting orders; early arrivals kept (bounded)."""

    by_broker: dict[str, Flight] = field(default_factory=dict)
    by_client: dict[str, Flight] = field(default_factory=dict)
    early: OrderedDict[str, Settlement] = field(default_factory=OrderedDict)
    max_early: int = 10_000

    def deliver(self, settlement: Settlement) -> None:
        flight = self.by_broker.get(settlement.broker_order_id)
        if flight is None and settlement.client_req_id:
            flight = self.by_client.get(settlement.client_req_id)
        if flight is None:
            self._keep(settlement.broker_order_id, settlement)
            if settlement.client_req_id:
                self._keep(settlement.client_req_id, settlement)
            return
        if not flight.future.done():
            flight.future.set_result(settlement)

    def _keep(self, key: str, settlement: Settlement) -> None:
        self.early[key] = settlement
        self.early.move_to_end(key)
        while len(self.early) > self.max_early:
            self.early.popitem(last=False)

    def register(self, flight: Flight) -> None:
        self.by_client[flight.client_req_id] = flight
        keys = [flight.client_req_id]
        if flight.broker_order_id is not None:
            self.by_broker[flight.broker_order_id] = flight
            keys.append(flight.broker_order_id)
        for key in keys:
            early = self.early.pop(key, None)
            if early is not None and not flight.future.done():
                flight.future.set_result(early)

    def unregister(self, flight: Flight) -> None:
        self.by_client.pop(flight.client_req_id, None)
        if flight.broker_order_id is not None:
            self.by_broker.pop(flight.broker_order_id, None)


class Executor:
    """Drives orders through the state machine for one connector; see the module doc."""

    def __init__(
        self,
        *,
        connector: Connector,
        journal: Journal,
        clock: Clock,
        config: ExecutorConfig | None = None,
        notify: Notify | None = None,
        seed: int | None = None,
        gate: SendGate | None = None,
        on_rejected: Callable[[str], object] | None = None,
    ) -> None:
        self.connector = connector
        self._gate = gate
        #: Told the reason code of every refused order (the engine counts it in
        #: ``guard_reject_total``).
        self._on_rejected = on_rejected
        self.journal = journal
        self.clock = clock
        self.config = config or ExecutorConfig()
        self._notify = notify
        self._rng = random.Random(seed)
        self._backoff = Backoff(
            self.config.backoff_base_s,
            2.0,
            max(self.config.backoff_cap_s, self.config.backoff_base_s),
            self.config.backoff_jitter,
        )
        self._storage_backoff = Backoff(
            0.05, 2.0, max(0.05, self.config.storage_retry_cap_s), self.config.backoff_jitter
        )
        self._routing = _Routing()
        self._listeners: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ready = False
        self._halt_reason: str | None = "not started"
        self._storage_down = False
        self._send_not_before = 0.0
        self._observer: OrderObserver | None = None
        self._prober: asyncio.Task[None] | None = None
        self._failing_writes = 0

    def report_to(self, observer: OrderObserver) -> None:
        """Report every resumed and finished order to ``observer`` (the account's trader);
        set it before :meth:`start`, so results settled by reconciliation reach it."""
        self._observer = observer

    # -- trading state ----------------------------------------------------------------

    @property
    def trading_allowed(self) -> bool:
        """True when new orders may be opened."""
        return self._ready and self._halt_reason is None

    @property
    def halted_reason(self) -> str | None:
        """Why new orders are refused, or None while trading is allowed."""
        return self._halt_reason

    @property
    def storage_healthy(self) -> bool:
        """False from a failed write until the next successful one."""
        return not self._storage_down

    def halt(self, reason: str) -> None:
        """Stop opening orders (orders in flight continue to their end)."""
        if self._halt_reason is None:
            log.warning("executor halted: %s", reason)
        self._halt_reason = reason

    def resume_trading(self) -> None:
        """Allow new orders again (an operator's decision after a halt); storage is
        probed first, so a halt whose failed write was an order's first insert (nothing
        in flight to retry) resumes as soon as storage takes writes again."""
        if not self.probe_storage():
            raise TradingHalted("storage is still failing; cannot resume")
        if not self._ready:
            raise TradingHalted("start-up reconciliation has not finished")
        self._halt_reason = None

    # -- life cycle -------------------------------------------------------------------

    async def start(self, accounts: Sequence[str]) -> ReconcileReport:
        """Listen for settlements, reconcile every stored non-terminal order, then trade.

        Raises :class:`~moonlight.core.execution.reconcile_report.ReconcileError` if
        reconciliation cannot finish; trading stays off then.
        """
        for account in accounts:
            self.listen(account)
        report = await reconcile(self, accounts=accounts)
        self._ready = True
        if self._halt_reason == "not started":
            self._halt_reason = None
        return report

    def listen(self, account_id: str) -> None:
        """Route settlement pushes of ``account_id`` to waiting orders (idempotent)."""
        task = self._listeners.get(account_id)
        if task is None or task.done():
            loop = asyncio.get_running_loop()
            task = loop.create_task(self._listen(account_id), name=f"settlements {account_id}")
            task.add_done_callback(_observe)
            self._listeners[account_id] = task

    async def stop(self) -> None:
        """Stop listening and cancel orders in flight (their state is already stored)."""
        self._ready = False
        self._halt_reason = "stopped"
        tasks = [*self._listeners.values(), *self._tasks]
        if self._prober is not None:
            tasks.append(self._prober)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._listeners.clear()
        self._tasks.clear()

    async def wait_idle(self) -> None:
        """Wait until every background order (resumed at start-up) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- placing orders ---------------------------------------------------------------

    def submit(self, intent: OrderIntent) -> asyncio.Task[OrderReport]:
        """Store the order (PREPARE) now, then drive it to its end in a task the executor
        keeps, observes and cancels on stop.

        The checks that refuse an order run *before* this returns, so the caller sees
        them: :class:`TradingHalted` (nothing stored, nothing sent) when trading is off or
        the insert failed on storage, ``DuplicateOrderError`` when the client_req_id was
        already used. Once a task is returned the order ends SETTLED or FAILED (reported
        through ``moonlight_on_order_settled``) unless the executor is stopped first.
        """
        flight = self._open(intent)
        task = asyncio.get_running_loop().create_task(
            self._drive(flight), name=f"order {intent.client_req_id}"
        )
        self._keep(task)
        return task

    async def execute(self, intent: OrderIntent) -> OrderReport:
        """Take one decision through the whole state machine; returns its final report.

        Raises what :meth:`submit` raises, before anything is stored or sent.
        """
        return await self.submit(intent)

    def _open(self, intent: OrderIntent) -> Flight:
        """Write the order's first row (PREPARE) and start tracking it."""
        if not self.trading_allowed:
            raise TradingHalted(self._halt_reason or "not started")
        now = self.clock.now()
        request = OrderRequest(
            client_req_id=intent.client_req_id,
            account_id=intent.account_id,
            instrument=intent.instrument,
            direction=intent.direction,
            stake=intent.stake,
            duration_s=intent.duration_s,
            created_ts=intent.decided_ts if intent.decided_ts is not None else now,
            min_payout_pct=intent.min_payout_pct,
        )
        flight = self._new_flight(request, intent.timeframe, OrderState.IDLE)
        try:
            flight.advance(
                OrderState.PREPARE, lambda _s, _t: self.journal.create(intent, at_ts=now)
            )
        except StorageUnavailable as error:
            self._routing.unregister(flight)
            self._storage_failed(error)
            raise TradingHalted(f"storage unavailable: {error.reason.value}") from error
        except BaseException:
            self._routing.unregister(flight)
            raise
        self._storage_ok()
        return flight

    async def _drive(self, flight: Flight) -> OrderReport:
        try:
            return await self._prepare_and_send(flight)
        finally:
            self._routing.unregister(flight)

    def _new_flight(self, request: OrderRequest, timeframe: str, state: OrderState) -> Flight:
        flight = Flight(
            request,
            timeframe=timeframe,
            state=state,
            future=asyncio.get_running_loop().create_future(),
            on_change=self._emit_state,
        )
        self._routing.register(flight)
        return flight

    async def _prepare_and_send(self, flight: Flight) -> OrderReport:
        if not self.trading_allowed:
            return await self._fail(flight, f"trading halted before send: {self._halt_reason}")
        now = self.clock.now()
        try:
            flight.advance(OrderState.SEND, self._transition(flight, at_ts=now))
        except StorageUnavailable as error:
            self._storage_failed(error)
            return await self._fail(flight, f"storage unavailable before send: {error.reason}")
        return await self._send(flight)

    async def _send(self, flight: Flight) -> OrderReport:
        attempt = 0
        flight.first_send_ts = self.clock.now()
        while True:
            if self._send_not_before > self.clock.now():
                await self.clock.sleep_until(self._send_not_before)
            flight.last_send_ts = self.clock.now()
            retry_after: float | None = None
            try:
                if self._gate is not None:
                    await self._gate(flight.request)
                ack = await self.connector.place_order(flight.request)
            except RateLimited as error:
                last_error: ConnectorError = error
                retry_after = error.retry_after_s
                self._send_not_before = max(
                    self._send_not_before, self.clock.now() + error.retry_after_s
                )
            except (Transient, Disconnected) as error:
                last_error = error
            except Rejected as error:
                return await self._rejected(flight, error)
            except AuthFailed as error:
                self.halt(f"authentication failed: {error}")
                self._alarm(AlarmLevel.CRITICAL, "auth_failed", str(error), flight.request)
                return await self._fail(flight, f"auth failed: {error}")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Ambiguous, or a connector bug: it may have left
                return await self._confirm_ambiguous(flight, f"{type(error).__name__}: {error}")
            else:
                return await self._confirm_ack(flight, ack)
            delay = self._backoff.delay_s(attempt, self._rng, retry_after)
            attempt += 1
            now = self.clock.now()
            assert flight.first_send_ts is not None
            if (
                attempt >= self.config.max_send_attempts
                or now + delay - flight.first_send_ts > self.config.send_deadline_s
            ):
                return await self._fail(
                    flight, f"send gave up after {attempt} attempt(s): {last_error}"
                )
            if not self.trading_allowed:
                return await self._fail(flight, f"trading halted during send: {self._halt_reason}")
            try:
                self.journal.update(flight.client_req_id, retry_count=attempt)
            except StorageUnavailable as error:
                self._storage_failed(error)
                return await self._fail(flight, f"storage unavailable before resend: {error}")
            flight.retries = attempt
            await self.clock.sleep_until(now + delay)

    async def _rejected(self, flight: Flight, error: Rejected) -> OrderReport:
        """Refused before or at the broker: the reason code is stored, counted, alarmed."""
        code = error.code or REJECTED
        if self._on_rejected is not None:
            try:
                self._on_rejected(code)
            except Exception:  # an observer must not change the order's fate
                log.exception("on_rejected observer failed")
        self._alarm(
            AlarmLevel.WARNING, code, f"{flight.client_req_id}: {error.reason}", flight.request
        )
        return await self._fail(flight, f"rejected: {error.reason} [{code}]", code=code)

    async def _confirm_ack(self, flight: Flight, ack: OrderAck) -> OrderReport:
        flight.ack_ts = self.clock.now()
        flight.learn(ack)
        self._routing.register(flight)
        persist = self._transition(
            flight, at_ts=flight.ack_ts or self.clock.now(), broker_order_id=ack.broker_order_id
        )
        await self._persist(lambda: flight.advance(OrderState.CONFIRM, persist))
        return await self._await_settlement(flight)

    async def _confirm_ambiguous(self, flight: Flight, reason: str) -> OrderReport:
        log.warning("%s: ambiguous send (%s); looking for it", flight.client_req_id, reason)
        persist = self._transition(
            flight, at_ts=self.clock.now(), reason=f"ambiguous send: {reason}"
        )
        await self._persist(
            lambda: flight.advance(OrderState.CONFIRM, persist, reason=f"ambiguous: {reason}")
        )
        return await self._locate_and_follow(flight)

    async def _locate_and_follow(self, flight: Flight) -> OrderReport:
        """CONFIRM without a broker id: find the order, then follow it to its result."""
        found = await self._locate(flight)
        if found is None:
            return await self._fail(flight, "not at the broker: the send never arrived")
        flight.ack_ts = self.clock.now()
        flight.learn(found)
        self._routing.register(flight)
        await self._persist(
            lambda: self.journal.update(flight.client_req_id, broker_order_id=found.broker_order_id)
        )
        if found.settlement is not None and not flight.future.done():
            flight.future.set_result(found.settlement)
        return await self._await_settlement(flight)

    async def _locate(self, flight: Flight) -> BrokerOrder | None:
        """Look for an order whose send was ambiguous; never guess.

        Returns the broker's order when found (by lookup or by a settlement push that
        names the client_req_id), ``None`` only when the broker *answered* that it has no
        such order at least ``ack_grace_s`` after the send. While the broker cannot be
        asked, it keeps asking with backoff; once the order would long have settled it
        raises one critical ``order_unknown`` alarm and goes on asking.
        """
        sent = flight.last_send_ts or flight.request.created_ts
        give_up_ts = sent + self.config.ack_grace_s
        duration = flight.request.duration_s
        overdue_ts = max(give_up_ts, sent + duration + self.config.settle_deadline_s(duration))
        alarmed = False
        failures = 0
        while True:
            if flight.future.done():
                return self._from_settlement(flight, flight.future.result())
            retry_after: float | None = None
            try:
                found = await self.connector.find_order(flight.request)
                definitive = True
            except ConnectorError as error:
                found, definitive = None, False
                retry_after = getattr(error, "retry_after_s", None)
                log.info("%s: lookup failed: %r", flight.client_req_id, error)
            if found is not None:
                return found
            now = self.clock.now()
            if definitive and now >= give_up_ts:
                return None
            if not alarmed and now >= overdue_ts:
                alarmed = True
                self._alarm(
                    AlarmLevel.CRITICAL,
                    "order_unknown",
                    f"{flight.client_req_id}: broker unreachable since an ambiguous send;"
                    " still asking",
                    flight.request,
                )
            pause = self.config.lookup_interval_s
            if not definitive:
                pause = max(pause, self._backoff.delay_s(failures, self._rng, retry_after))
                failures += 1
            await self._wait(flight.future, now + pause)

    def _from_settlement(self, flight: Flight, settlement: Settlement) -> BrokerOrder:
        """A settled order rebuilt from a push that identified it by client_req_id."""
        request = flight.request
        sent = flight.last_send_ts or request.created_ts
        return BrokerOrder(
            broker_order_id=settlement.broker_order_id,
            client_req_id=request.client_req_id,
            account_id=request.account_id,
            instrument=request.instrument,
            direction=request.direction,
            stake=request.stake,
            duration_s=request.duration_s,
            payout_pct=0.0,
            accepted_ts=sent,
            expires_ts=sent + request.duration_s,
            status=BrokerOrderStatus.SETTLED,
            entry_price=settlement.entry_price,
            settlement=settlement,
        )

    async def _await_settlement(self, flight: Flight) -> OrderReport:
        """CONFIRM with a broker id: wait for a push, poll after expiry, abort at deadline.

        The abort needs the broker's *answer* that it has no result; while the broker
        cannot be reached past the deadline, one critical ``settlement_overdue`` alarm is
        raised and polling continues with backoff (an unreachable broker is not a result).
        """
        assert flight.expires_ts is not None
        duration = flight.request.duration_s
        deadline = flight.expires_ts + self.config.settle_deadline_s(duration)
        next_poll = flight.expires_ts + self.config.first_poll_delay_s
        alarmed = late_alarmed = False
        failures = 0
        while True:
            wake = next_poll if alarmed or late_alarmed else min(next_poll, deadline)
            if await self._wait(flight.future, wake):
                return await self._settle(flight, flight.future.result())
            answered, status = await self._status(flight)
            if status is not None and status.settlement is not None:
                return await self._settle(flight, status.settlement)
            now = self.clock.now()
            if now >= deadline:
                still_open = answered and status is not None
                if still_open and now < deadline + self.config.still_open_wait_s:
                    # The broker has the order and no result yet (its clock or settlement
                    # runs late): an open order is not a lost one; keep asking.
                    if not late_alarmed:
                        late_alarmed = True
                        self._alarm(
                            AlarmLevel.WARNING,
                            "settlement_late",
                            f"{flight.client_req_id} ({flight.broker_order_id}): still open at"
                            " the broker past the deadline; waiting for its result",
                            flight.request,
                        )
                elif answered:
                    return await self._deadline_passed(flight, status)
                elif not alarmed:
                    alarmed = True
                    self._alarm(
                        AlarmLevel.CRITICAL,
                        "settlement_overdue",
                        f"{flight.client_req_id} ({flight.broker_order_id}): no result by the"
                        " deadline and the broker is unreachable; still asking",
                        flight.request,
                    )
            pause = self.config.poll_interval_s
            if not answered:
                pause = max(pause, self._backoff.delay_s(failures, self._rng))
                failures += 1
            next_poll = now + pause

    async def _status(self, flight: Flight) -> tuple[bool, BrokerOrder | None]:
        """``(answered, order)``: whether the broker answered, and its view of the order."""
        assert flight.broker_order_id is not None
        try:
            order = await self.connector.order_status(
                flight.request.account_id, flight.broker_order_id
            )
        except ConnectorError as error:
            log.info("%s: status poll failed: %r", flight.client_req_id, error)
            return False, None
        return True, order

    async def _deadline_passed(self, flight: Flight, status: BrokerOrder | None) -> OrderReport:
        """The broker answered and has no result by the deadline: abort with the reason."""
        if flight.future.done():
            return await self._settle(flight, flight.future.result())
        where = "still open at the broker" if status is not None else "unknown to the broker"
        self._alarm(
            AlarmLevel.CRITICAL,
            "settlement_missing",
            f"{flight.client_req_id} ({flight.broker_order_id}): no settlement by the deadline;"
            f" {where}",
            flight.request,
        )
        return await self._fail(
            flight, f"no settlement by the deadline ({where})", pnl=-flight.request.stake
        )

    # -- terminal writes --------------------------------------------------------------

    async def _settle(self, flight: Flight, settlement: Settlement) -> OrderReport:
        now = self.clock.now()
        expires = flight.expires_ts
        result = ResultRecord(
            outcome=settlement.outcome,
            pnl=settlement.pnl,
            settled_ts=now,
            entry_price=settlement.entry_price,
            exit_price=settlement.exit_price,
            opened_ts=flight.accepted_ts,
            expires_ts=expires,
            decision_to_send_ms=_ms(flight.decided_ts, flight.first_send_ts),
            send_to_ack_ms=_ms(flight.first_send_ts, flight.ack_ts),
            expiry_to_settlement_ms=None if expires is None else max(0.0, (now - expires) * 1e3),
        )
        await self._finish(
            flight, OrderState.SETTLED, result, broker_order_id=settlement.broker_order_id
        )
        return OrderReport(
            flight.client_req_id,
            OrderState.SETTLED,
            settlement.outcome,
            settlement.pnl,
            settlement.broker_order_id,
        )

    async def _fail(
        self, flight: Flight, reason: str, *, pnl: float = 0.0, code: str | None = None
    ) -> OrderReport:
        now = self.clock.now()
        result = ResultRecord(
            outcome=Outcome.ABORT,
            pnl=pnl,
            settled_ts=now,
            opened_ts=flight.accepted_ts,
            expires_ts=flight.expires_ts,
            decision_to_send_ms=_ms(flight.decided_ts, flight.first_send_ts),
            send_to_ack_ms=_ms(flight.first_send_ts, flight.ack_ts),
            reason=reason,
            reason_code=code,
        )
        await self._finish(flight, OrderState.FAILED, result, reason=reason)
        log.info("%s failed: %s", flight.client_req_id, reason)
        return OrderReport(
            flight.client_req_id,
            OrderState.FAILED,
            Outcome.ABORT,
            pnl,
            flight.broker_order_id,
            reason,
        )

    async def _finish(
        self,
        flight: Flight,
        target: OrderState,
        result: ResultRecord,
        *,
        reason: str | None = None,
        broker_order_id: str | None = None,
    ) -> None:
        """Stage the terminal move with its result into the instant's group commit, let
        the account's observer book it (its guard state joins the same commit), and once
        the commit is done advance the order and tell the plugins."""
        source = flight.state
        check_transition(source, target)

        def stage() -> asyncio.Future[bool]:
            return self.journal.stage_finish(
                flight.client_req_id,
                source,
                target,
                result,
                at_ts=result.settled_ts,
                broker_order_id=broker_order_id,
            )

        staged = stage()
        self._report_finished(flight, result)
        first = True

        def write() -> asyncio.Future[bool]:
            nonlocal first
            if first:
                first = False
                return staged
            return stage()  # a failed flush: stage again (the write is idempotent)

        recorded = await self._persist_staged(write)
        flight.advance(target, lambda _source, _target: recorded, reason=reason)
        self._emit_settled(flight, result)

    # -- reconciliation's interface ----------------------------------------------------

    def resume(self, stored: JournalOrder) -> Flight:
        """Track a stored non-terminal order again, in its stored state."""
        request = OrderRequest(
            client_req_id=stored.client_req_id,
            account_id=stored.account_id,
            instrument=stored.instrument,
            direction=stored.direction,
            stake=stored.stake,
            duration_s=stored.duration_s,
            created_ts=stored.created_ts,
        )
        flight = self._new_flight(request, stored.timeframe, stored.state)
        flight.broker_order_id = stored.broker_order_id
        flight.first_send_ts = flight.last_send_ts = stored.sent_ts
        if stored.broker_order_id is not None:
            self._routing.register(flight)
        return flight

    async def abandon(self, flight: Flight, reason: str) -> OrderReport:
        """Record a resumed order FAILED (abort, pnl 0): it never reached the broker, or
        the broker does not know it. An IDLE order passes PREPARE first, as the table
        requires."""
        try:
            if flight.state is OrderState.IDLE:
                persist = self._transition(flight, at_ts=self.clock.now())
                await self._persist(lambda: flight.advance(OrderState.PREPARE, persist))
            return await self._fail(flight, reason)
        finally:
            self._routing.unregister(flight)

    async def found_at_broker(self, flight: Flight, order: BrokerOrder) -> None:
        """The broker holds a resumed order whose send was uncertain: record CONFIRM
        with its broker id (or, already in CONFIRM, just the id)."""
        if flight.state is OrderState.SEND:
            persist = self._transition(
                flight,
                at_ts=self.clock.now(),
                reason="found at the broker after a restart",
                broker_order_id=order.broker_order_id,
            )
            await self._persist(
                lambda: flight.advance(OrderState.CONFIRM, persist, reason="reconciled")
            )
        else:
            await self._persist(
                lambda: self.journal.update(
                    flight.client_req_id, broker_order_id=order.broker_order_id
                )
            )

    async def take_over(self, flight: Flight, order: BrokerOrder) -> bool:
        """Follow a resumed order as the broker reports it: settled → its result is
        recorded now (True); open → it is followed to its result in the background
        without blocking start-up, holding its guard slot meanwhile (False)."""
        flight.learn(order)
        self._routing.register(flight)
        if order.settlement is not None:
            try:
                await self._settle(flight, order.settlement)
            finally:
                self._routing.unregister(flight)
            return True
        if self._observer is not None:
            request = flight.request
            self._observer.order_resumed(
                request.account_id, request.instrument, request.client_req_id
            )

        async def follow() -> OrderReport:
            try:
                return await self._await_settlement(flight)
            finally:
                self._routing.unregister(flight)

        self._keep(
            asyncio.get_running_loop().create_task(follow(), name=f"order {flight.client_req_id}")
        )
        return False

    def retry_delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        """The executor's backoff before retry number ``attempt`` of a broker call."""
        return self._backoff.delay_s(attempt, self._rng, retry_after_s)

    def alarm(self, level: AlarmLevel, code: str, message: str) -> None:
        """Emit an engine-wide alarm (reconciliation's orphans and drift)."""
        self._alarm(level, code, message, None)

    def _transition(
        self,
        flight: Flight,
        *,
        at_ts: float,
        reason: str | None = None,
        broker_order_id: str | None = None,
    ) -> Callable[[OrderState, OrderState], bool]:
        """The journal write of a non-terminal transition, for :meth:`Flight.advance`."""

        def persist(source: OrderState, target: OrderState) -> bool:
            return self.journal.transition(
                flight.client_req_id,
                source,
                target,
                at_ts=at_ts,
                reason=reason,
                broker_order_id=broker_order_id,
            )

        return persist

    def _keep(self, task: asyncio.Task[Any]) -> None:
        """Hold ``task`` until it ends and observe how it ended (nothing goes unseen)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_observe)

    # -- storage faults ---------------------------------------------------------------

    async def _persist(self, write: Callable[[], T]) -> T:
        """Run a journal write until it succeeds; see :meth:`_persist_staged`."""

        async def run() -> T:
            return write()

        return await self._persist_staged(run)

    async def _persist_staged(self, write: Callable[[], Awaitable[T]]) -> T:
        """Await a journal write until it succeeds; halts trading while it fails.

        While such a write is failing it is itself the storage probe: only its success
        declares storage recovered (a tiny probe write can fit on a full disk while
        this one cannot)."""
        attempt = 0
        while True:
            try:
                value = await write()
            except StorageUnavailable as error:
                if attempt == 0:
                    self._failing_writes += 1
                self._storage_failed(error)
                delay = self._storage_backoff.delay_s(attempt, self._rng)
                attempt += 1
                try:
                    await self.clock.sleep_until(self.clock.now() + delay)
                except BaseException:
                    self._failing_writes -= 1
                    raise
                continue
            if attempt:
                self._failing_writes -= 1
            self._storage_ok()
            return value

    def _storage_failed(self, error: StorageUnavailable) -> None:
        if self._storage_down:
            return
        self._storage_down = True
        self.halt(f"storage unavailable ({error.reason.value})")
        self._alarm(
            AlarmLevel.CRITICAL,
            "storage_unavailable",
            f"storage write failed ({error.reason.value}): {error.detail}; trading halted,"
            " in-flight orders are retried until recorded",
            None,
        )
        if self._prober is None or self._prober.done():
            self._prober = asyncio.get_running_loop().create_task(
                self._probe_until_recovered(), name="storage probe"
            )
            self._prober.add_done_callback(_observe)

    async def _probe_until_recovered(self) -> None:
        """While storage is down, retry the writes it owes (with backoff) even when no
        order is in flight, so recovery is noticed without a new order or a restart."""
        attempt = 0
        while self._storage_down and not self.probe_storage():
            delay = self._storage_backoff.delay_s(attempt, self._rng)
            attempt += 1
            await self.clock.sleep_until(self.clock.now() + delay)

    def probe_storage(self) -> bool:
        """While storage is down, try one small real write; True once storage takes
        writes again (then ``storage_recovered`` is raised)."""
        if not self._storage_down:
            return True
        if self._failing_writes:  # an order's own write is retrying: it is the probe
            return False
        try:
            self.journal.probe(at_ts=self.clock.now())
        except StorageUnavailable:
            return False
        self._storage_down = False
        self._recovered()
        return True

    def _recovered(self) -> None:
        self._alarm(AlarmLevel.INFO, "storage_recovered", "storage writes succeed again", None)
        if self.config.resume_after_storage_recovery and self._ready:
            self._halt_reason = None

    def _storage_ok(self) -> None:
        """A write succeeded: storage is back unless another order's write still fails."""
        if self._storage_down and not self._failing_writes:
            self._storage_down = False
            self._recovered()

    # -- events -----------------------------------------------------------------------

    async def _listen(self, account_id: str) -> None:
        attempt = 0
        while True:
            try:
                async for settlement in self.connector.subscribe_settlements(account_id):
                    attempt = 0
                    self._routing.deliver(settlement)
            except ConnectorError as error:
                log.info("settlement stream of %s ended: %r", account_id, error)
            delay = self._backoff.delay_s(attempt, self._rng)
            attempt += 1
            await self.clock.sleep_until(self.clock.now() + delay)

    async def _wait(self, future: asyncio.Future[Any], until_ts: float) -> bool:
        """Wait for ``future`` until ``until_ts`` on the executor's clock; True if done."""
        if future.done():
            return True
        if until_ts <= self.clock.now():
            return False
        sleeper = asyncio.ensure_future(self.clock.sleep_until(until_ts))
        try:
            await asyncio.wait({future, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
        return future.done()

    def _call_notify(self, hook: str, event: Any) -> None:
        if self._notify is None:
            return
        try:
            self._notify(hook, event=event)
        except Exception:  # an observer must never break the executor
            log.exception("observer failed in %s", hook)

    def _emit_state(
        self, flight: Flight, source: OrderState, target: OrderState, reason: str | None
    ) -> None:
        request = flight.request
        self._call_notify(
            HOOK_STATE_CHANGED,
            OrderStateChanged(
                client_req_id=request.client_req_id,
                account_id=request.account_id,
                instrument=request.instrument,
                from_state=source.value,
                to_state=target.value,
                reason=reason,
            ),
        )

    def _report_finished(self, flight: Flight, result: ResultRecord) -> None:
        """Tell the account's observer (its books: slots, balance, guards) of a result
        staged for this instant; what it writes joins the same group commit."""
        if self._observer is None:
            return
        finished = FinishedOrder(_settled_event(flight, result), flight.timeframe,
                                 flight.decided_ts, result)  # fmt: skip
        with self.journal.bookkeeping():
            try:
                self._observer.order_finished(finished)
            except Exception:  # a failing observer must not change the order's fate
                log.exception("order observer failed on %s", flight.client_req_id)

    def _emit_settled(self, flight: Flight, result: ResultRecord) -> None:
        self._call_notify(HOOK_SETTLED, _settled_event(flight, result))

    def _alarm(
        self, level: AlarmLevel, code: str, message: str, request: OrderRequest | None
    ) -> None:
        """Emit an alarm; the telemetry alarm center logs, redacts, stores and
        de-duplicates it (once), and keeps it until storage takes it if storage is down."""
        scope = "global" if request is None else f"acc:{request.account_id}"
        self._call_notify(
            HOOK_ALARM, AlarmRaised(level=level, code=code, message=message, scope=scope)
        )


def _observe(task: asyncio.Task[Any]) -> None:
    """Log a background task that ended with an error (its state is already stored)."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("%s ended with an error: %r", task.get_name(), error, exc_info=error)


def _settled_event(flight: Flight, result: ResultRecord) -> OrderSettled:
    request = flight.request
    return OrderSettled(
        client_req_id=request.client_req_id,
        account_id=request.account_id,
        instrument=request.instrument,
        outcome=result.outcome.value,
        pnl=result.pnl,
    )


def _ms(start_ts: float | None, end_ts: float | None) -> float | None:
    if start_ts is None or end_ts is None:
        return None
    return max(0.0, (end_ts - start_ts) * 1e3)
