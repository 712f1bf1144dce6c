"""Orders: open ones first, then the newest, with every field an operator checks; filter."""

from __future__ import annotations

import flet as ft

from moonlight.console import formatting as fmt, models
from moonlight.console.state import OrderFilter
from moonlight.console.ui.context import Context
from moonlight.console.ui.screens.base import Screen
from moonlight.console.ui.widgets import badge, muted, panel, table

SHOWN_MAX = 50
COLUMNS = [
    "time",
    "account",
    "instrument",
    "direction",
    "stake",
    "expiry",
    "p-hat",
    "state",
    "outcome",
    "P&L",
]
GROUPS = {"all": "All orders", "open": "Open", "settled": "Settled", "failed": "Failed"}


class OrdersScreen(Screen):
    title = "Orders"
    icon = ft.Icons.RECEIPT_LONG
    areas = frozenset({"orders"})
    fetch_on_open = ("orders",)

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.filter = OrderFilter()
        self.search = ft.TextField(
            label="Filter (account, instrument, order id)",
            width=320,
            dense=True,
            on_change=self._filter_changed,
        )
        self.group = ft.Dropdown(
            label="Show",
            value="all",
            width=180,
            dense=True,
            options=[ft.DropdownOption(key=k, text=v) for k, v in GROUPS.items()],
            on_select=self._filter_changed,
        )
        self.summary = muted("")
        self.rows = ft.Column()
        self.shown: tuple[tuple[object, ...], ...] | None = None

    def _filter_changed(self, _event: object) -> None:
        self.filter = OrderFilter(text=self.search.value or "", group=self.group.value or "all")
        self.render()

    def render(self) -> None:
        state = self.context.state
        orders = state.visible_orders(self.filter)
        open_count = sum(1 for o in orders if o.is_open)
        self.summary.value = f"{len(orders)} orders match, {open_count} open" + (
            f" (showing the first {SHOWN_MAX})" if len(orders) > SHOWN_MAX else ""
        )
        shown = tuple(
            (o.client_req_id, o.state, o.outcome, o.pnl, o.p_hat) for o in orders[:SHOWN_MAX]
        )
        if shown != self.shown or not self.rows.controls:
            # rebuilt only when a visible row changed: a large table is costly to lay out
            self.shown = shown
            if orders:
                self.rows.controls = [table(COLUMNS, [row(o) for o in orders[:SHOWN_MAX]])]
            else:
                empty = "No orders match." if state.orders else "No orders yet."
                self.rows.controls = [muted(empty)]
        self.body.controls = [
            panel(
                "Orders (open first, then newest)",
                ft.Row([self.search, self.group, self.summary], wrap=True, spacing=12),
                self.rows,
            )
        ]


def row(order: models.Order) -> list[ft.Control | str]:
    """One table row: time, account, instrument, direction, stake, expiry, p-hat, state..."""
    direction = order.direction or fmt.DASH
    return [
        fmt.clock(order.created_at),
        order.account_id,
        order.instrument,
        direction,
        fmt.money(order.stake, order.currency),
        fmt.duration(order.duration_s),
        fmt.probability(order.p_hat),
        badge(order.state),
        badge(order.outcome) if order.outcome else fmt.DASH,
        fmt.signed_money(order.pnl),
    ]
