"""The console's view model: what the server last said, and what the screens derive from it.

Plain data and pure functions, no UI and no I/O: :class:`ConsoleState` takes REST
answers (``set_*``) and WebSocket messages (:meth:`ConsoleState.apply`), and the views
read derived lists from it -- orders open first and filtered, the cumulative P&L series,
staleness.

Money has one source of truth, the stored results: the P&L chart is built only from
``GET /results``. A ``result`` message on the WebSocket marks the results *dirty* so
they are fetched again (its own timestamp is wall time, not the engine clock's), and an
``order_state`` message moves an order's state at once so the orders screen is live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moonlight.console import models
from moonlight.console.formatting import as_utc

MAX_ORDERS = 500
MAX_ALARMS = 200
STALE_AFTER_S = 8.0
"""No successful status poll for this long: the screens say the data is stale."""


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """The orders screen's filter: free text (account, instrument, id) and a state group."""

    text: str = ""
    group: str = "all"  # all | open | settled | failed

    def matches(self, order: models.Order) -> bool:
        needle = self.text.strip().lower()
        if needle and not any(
            needle in value.lower()
            for value in (order.account_id, order.instrument, order.client_req_id)
        ):
            return False
        if self.group == "open":
            return order.is_open
        if self.group == "settled":
            return order.state == "SETTLED"
        if self.group == "failed":
            return order.state == "FAILED"
        return True


@dataclass(slots=True)
class Freshness:
    """When data last arrived (monotonic seconds) and whether that is too long ago."""

    stale_after_s: float = STALE_AFTER_S
    last_ok: float | None = None
    last_error: str | None = None

    def ok(self, now: float) -> None:
        self.last_ok = now
        self.last_error = None

    def failed(self, message: str) -> None:
        self.last_error = message

    def age(self, now: float) -> float | None:
        return None if self.last_ok is None else max(0.0, now - self.last_ok)

    def stale(self, now: float) -> bool:
        age = self.age(now)
        return age is None or age > self.stale_after_s


@dataclass(slots=True)
class ConsoleState:
    """Everything the screens show, as last received."""

    status: models.Status | None = None
    workers: list[models.Worker] = field(default_factory=list)
    orders: dict[str, models.Order] = field(default_factory=dict)
    results: list[models.Result] = field(default_factory=list)
    alarms: list[models.Alarm] = field(default_factory=list)
    calibration: models.Calibration | None = None
    overrides: models.Overrides | None = None
    config: dict[str, Any] | None = None
    pnl_day: dict[str, float] = field(default_factory=dict)
    live: str = "connecting"
    """The WebSocket: connecting, connected, reconnecting or unauthenticated."""
    rest: Freshness = field(default_factory=Freshness)
    last_live_message: float | None = None

    # ------------------------------------------------------------------ REST answers

    def set_orders(self, orders: Iterable[models.Order]) -> None:
        """A fresh page of orders (open first, then the newest) replaces what was shown."""
        self.orders = {order.client_req_id: order for order in orders}
        self._trim_orders()

    def set_results(self, results: Iterable[models.Result]) -> None:
        """The stored results (any order), kept oldest first, one per order."""
        by_id = {r.client_req_id: r for r in self.results}
        by_id.update((r.client_req_id, r) for r in results)
        self.results = sorted(by_id.values(), key=lambda r: (as_utc(r.settled_at), r.client_req_id))

    def set_alarms(self, alarms: Iterable[models.Alarm]) -> None:
        """Stored alarms, newest first (replaces what the WebSocket added meanwhile)."""
        self.alarms = sorted(alarms, key=lambda a: as_utc(a.ts), reverse=True)[:MAX_ALARMS]

    # ------------------------------------------------------------------ WebSocket

    def apply(self, message: models.LiveMessage, now: float) -> set[str]:
        """Apply one live message; the areas to fetch again from the REST API."""
        self.last_live_message = now
        data = message.data
        if message.type in ("decision", "order_state"):
            self._order_state(data)
            return {"orders"} if message.type == "decision" else set()
        if message.type == "result":
            self._order_state({**data, "to_state": "SETTLED"})
            order = self.orders.get(str(data.get("client_req_id")))
            if order is not None:
                self.orders[order.client_req_id] = order.model_copy(
                    update={"outcome": data.get("outcome"), "pnl": data.get("pnl")}
                )
            return {"results", "orders", "status"}
        if message.type == "alarm":
            self._alarm(data)
            return {"alarms", "status"}
        if message.type in ("metrics", "hello"):
            metrics = data.get("metrics", data) if message.type == "hello" else data
            self._metrics(metrics)
        return set()

    def _order_state(self, data: dict[str, Any]) -> None:
        order_id = data.get("client_req_id")
        state = data.get("to_state")
        if not isinstance(order_id, str) or not isinstance(state, str):
            return
        known = self.orders.pop(order_id, None)
        if known is None:
            known = models.Order(
                client_req_id=order_id,
                account_id=str(data.get("account_id", "")),
                instrument=str(data.get("instrument", "")),
                state=state,
            )
        self.orders[order_id] = known.model_copy(update={"state": state})
        self._trim_orders()

    def _alarm(self, data: dict[str, Any]) -> None:
        try:
            alarm = models.Alarm.model_validate({**data, "ts": data.get("ts", data.get("at"))})
        except ValueError:
            return
        self.alarms = [alarm, *self.alarms][:MAX_ALARMS]

    def _metrics(self, data: Any) -> None:
        accounts = data.get("accounts") if isinstance(data, dict) else None
        if not isinstance(accounts, dict):
            return
        for account_id, figures in accounts.items():
            if isinstance(figures, dict) and isinstance(figures.get("pnl_day"), int | float):
                self.pnl_day[str(account_id)] = float(figures["pnl_day"])

    def _trim_orders(self) -> None:
        if len(self.orders) <= MAX_ORDERS:
            return
        keep = order_rows(self.orders.values(), OrderFilter())[:MAX_ORDERS]
        self.orders = {o.client_req_id: o for o in keep}

    # ------------------------------------------------------------------ derived

    def visible_orders(self, order_filter: OrderFilter) -> list[models.Order]:
        return order_rows(self.orders.values(), order_filter)

    def pnl_series(self) -> list[tuple[float, float]]:
        """(settlement time in epoch seconds, cumulative P&L) per stored result."""
        total = 0.0
        series = []
        for result in self.results:
            total += result.pnl
            series.append((as_utc(result.settled_at).timestamp(), total))
        return series

    def currency(self) -> str:
        """The accounts' currency when they share one (the P&L chart's unit)."""
        currencies = {a.currency for a in self.status.accounts} if self.status else set()
        return currencies.pop() if len(currencies) == 1 else ""


def order_rows(orders: Iterable[models.Order], order_filter: OrderFilter) -> list[models.Order]:
    """Open orders first, then the rest; newest first within each; filtered."""
    chosen = [o for o in orders if order_filter.matches(o)]
    chosen.sort(key=_newest_key, reverse=True)
    chosen.sort(key=lambda o: 0 if o.is_open else 1)  # stable: keeps newest first
    return chosen


def _newest_key(order: models.Order) -> tuple[float, str]:
    created: datetime | None = order.created_at
    # an order only known from the WebSocket is newer than anything stored
    return (as_utc(created).timestamp() if created else float("inf"), order.client_req_id)
