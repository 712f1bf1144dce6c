"""The P&L chart: cumulative P&L of the stored results against the engine clock."""

from __future__ import annotations

import flet as ft

from moonlight.console import formatting as fmt
from moonlight.console.chart import series_plot
from moonlight.console.ui.screens.base import Screen
from moonlight.console.ui.widgets import muted, panel, plot_view, table

CHART_HEIGHT = 320.0


class PnlScreen(Screen):
    title = "P&L"
    icon = ft.Icons.SHOW_CHART
    areas = frozenset({"results", "status"})

    def render(self) -> None:
        state = self.context.state
        series = state.pnl_series()
        currency = state.currency()
        width = max(480.0, min(1400.0, (self.context.page.width or 1200) - 140))
        if series:
            total = series[-1][1]
            caption = (
                f"cumulative P&L {fmt.signed_money(total, currency)} over {len(series)} results,"
                f" last at {fmt.clock(state.results[-1].settled_at)} UTC"
            )
        else:
            caption = "no results yet: the line starts with the first settled order"
        chart = plot_view(series_plot(series, width, CHART_HEIGHT), caption)
        rows: list[list[ft.Control | str]] = []
        if state.status is not None:
            rows = [
                [
                    a.id,
                    fmt.signed_money(state.pnl_day.get(a.id), a.currency),
                    fmt.money(a.balance, a.currency),
                ]
                for a in state.status.accounts
            ]
        self.body.controls = [
            panel(
                f"Cumulative P&L{f' ({currency})' if currency else ''}, engine clock (UTC)",
                chart,
                muted("Built from the stored results, the one record of money."),
            ),
            panel("Today by account", table(["account", "today's P&L", "balance"], rows)),
        ]
