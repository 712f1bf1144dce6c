"""Start-up reconciliation: bring every stored non-terminal order into line with the broker.

Run by :meth:`Executor.start` before trading is allowed. Because every transition is
persisted before its side effect, the stored state says exactly how far an order got:

============  ==================================================================
stored state  what reconciliation does
============  ==================================================================
IDLE/PREPARE  nothing was sent → FAILED ("interrupted before send")
SEND          it may have been sent → ask the broker (``find_order``): found → CONFIRM
              with the broker id (settled → SETTLED at once, open → followed in the
              background); not found → wait until ``ack_grace_s`` after the send,
              ask again, then FAILED ("not at the broker")
CONFIRM       without a broker id: as SEND. With one: ``order_status`` → settled →
              SETTLED; open → followed in the background; unknown → FAILED
============  ==================================================================

Then every account's open orders at the broker are compared with storage: an order the
broker holds that storage does not know (an orphan) is adopted — recorded and followed to
its result — with a critical alarm; one that storage already closed is reported as drift
with a critical alarm. Broker calls that fail are retried with backoff; if the broker
cannot be asked within ``reconcile_timeout_s`` reconciliation raises
:class:`~moonlight.core.execution.reconcile_report.ReconcileError` and trading stays off.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from moonlight.core.connectors.contract import BrokerOrder, ConnectorError
from moonlight.core.events import AlarmLevel
from moonlight.core.execution.flight import Flight
from moonlight.core.execution.journal import JournalOrder
from moonlight.core.execution.reconcile_report import ReconcileError, ReconcileReport
from moonlight.core.orders import OrderState
from moonlight.core.storage.errors import StorageUnavailable

if TYPE_CHECKING:  # the executor calls this module; this module only uses its interface
    from moonlight.core.execution.executor import Executor

T = TypeVar("T")


async def reconcile(executor: Executor, *, accounts: Sequence[str]) -> ReconcileReport:
    """Reconcile every stored non-terminal order, then look for orphans at the broker."""
    report = ReconcileReport()
    try:
        stored_orders = executor.journal.non_terminal()
    except StorageUnavailable as error:
        raise ReconcileError(f"cannot read stored orders: {error}") from error
    # Only this executor's accounts: another account's orders live at another broker.
    mine = set(accounts)
    pending = [order for order in stored_orders if order.account_id in mine]
    deadline = executor.clock.now() + executor.config.reconcile_timeout_s
    for stored in pending:
        report.checked += 1
        await _reconcile_order(executor, stored, report, deadline)
    for account in sorted(mine):
        executor.listen(account)
        open_orders = await _ask(executor, deadline, functools.partial(_open, executor, account))
        for broker_order in open_orders:
            await _check_open(executor, broker_order, report)
    return report


async def _open(executor: Executor, account: str) -> Sequence[BrokerOrder]:
    return await executor.connector.open_orders(account)


async def _reconcile_order(
    executor: Executor, stored: JournalOrder, report: ReconcileReport, deadline: float
) -> None:
    flight = executor.resume(stored)
    cid = stored.client_req_id
    if stored.state in (OrderState.IDLE, OrderState.PREPARE):
        await executor.abandon(flight, "interrupted before send (restart)")
        report.failed.append(cid)
        return
    if stored.state is OrderState.CONFIRM and stored.broker_order_id is not None:
        broker_id = stored.broker_order_id
        status = await _ask(
            executor,
            deadline,
            lambda: executor.connector.order_status(stored.account_id, broker_id),
        )
        if status is None:
            await executor.abandon(flight, "the broker does not know the order (restart)")
            report.failed.append(cid)
            return
        await _follow(executor, flight, status, report)
        return
    # SEND, or CONFIRM without a broker id: the request may or may not have arrived.
    sent = stored.sent_ts if stored.sent_ts is not None else stored.created_ts
    while True:
        found = await _ask(
            executor, deadline, lambda: executor.connector.find_order(flight.request)
        )
        if found is not None:
            break
        if executor.clock.now() >= sent + executor.config.ack_grace_s:
            await executor.abandon(flight, "not at the broker after a restart during send")
            report.failed.append(cid)
            return
        await executor.clock.sleep_until(
            min(sent + executor.config.ack_grace_s, executor.clock.now() + 1.0)
        )
    await executor.found_at_broker(flight, found)
    await _follow(executor, flight, found, report)


async def _follow(
    executor: Executor, flight: Flight, order: BrokerOrder, report: ReconcileReport
) -> None:
    if await executor.take_over(flight, order):
        report.settled.append(flight.client_req_id)
    else:
        report.resumed.append(flight.client_req_id)


async def _check_open(executor: Executor, order: BrokerOrder, report: ReconcileReport) -> None:
    """Compare one open broker order with storage: adopt orphans, report drift."""
    stored = executor.journal.get(order.client_req_id) if order.client_req_id else None
    if stored is None:
        stored = executor.journal.get_by_broker_id(order.broker_order_id)
    if stored is None:
        adopted = executor.journal.adopt(
            order, timeframe=f"{order.duration_s}s", at_ts=executor.clock.now()
        )
        executor.alarm(
            AlarmLevel.CRITICAL,
            "orphan_order",
            f"broker order {order.broker_order_id} was not in storage; adopted as"
            f" {adopted.client_req_id}",
        )
        await _follow(executor, executor.resume(adopted), order, report)
        report.adopted.append(adopted.client_req_id)
        return
    if stored.state.is_terminal:
        executor.alarm(
            AlarmLevel.CRITICAL,
            "state_drift",
            f"{stored.client_req_id} is {stored.state.value} in storage but open at the broker"
            f" ({order.broker_order_id})",
        )
        report.drift.append(stored.client_req_id)


async def _ask(executor: Executor, deadline: float, call: Callable[[], Awaitable[T]]) -> T:
    """One broker call, retried with backoff until ``deadline``."""
    attempt = 0
    while True:
        try:
            return await call()
        except ConnectorError as error:
            now = executor.clock.now()
            if now >= deadline:
                raise ReconcileError(
                    f"broker unreachable during reconciliation: {error}"
                ) from error
            retry_after = getattr(error, "retry_after_s", None)
            delay = executor.retry_delay(attempt, retry_after)
            attempt += 1
            await executor.clock.sleep_until(min(deadline, now + delay))
