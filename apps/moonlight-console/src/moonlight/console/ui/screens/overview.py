"""Overview: the engine, every account (balance, today's P&L, state, guards), connections."""

from __future__ import annotations

import flet as ft

from moonlight.console import formatting as fmt, models
from moonlight.console.ui.screens.base import Screen
from moonlight.console.ui.widgets import badge, muted, panel, table, tone


class OverviewScreen(Screen):
    title = "Overview"
    icon = ft.Icons.DASHBOARD
    areas = frozenset({"status", "health", "live"})

    def render(self) -> None:
        state = self.context.state
        status = state.status
        if status is None:
            self.body.controls = [muted("Waiting for the server's first status report…")]
            return
        self.body.controls = [
            self._engine(status),
            panel(
                "Accounts",
                table(
                    [
                        "account",
                        "mode",
                        "balance",
                        "today's P&L",
                        "state",
                        "circuit",
                        "connector",
                        "orders",
                        "workers",
                    ],
                    [self._account_row(a) for a in status.accounts],
                ),
            ),
            panel("Guard restrictions", *self._restrictions(status)),
            panel("Connection", *self._health()),
        ]

    def _engine(self, status: models.Status) -> ft.Control:
        engine = status.engine
        clock = fmt.date_time(engine.clock_time) + (
            " (simulated)" if engine.simulated_clock else " UTC"
        )
        workers = " · ".join(f"{n} {s}" for s, n in sorted(status.workers.by_state.items()))
        return panel(
            "Engine",
            ft.Row(
                [
                    badge(f"engine {engine.state}", tone(engine.state)),
                    ft.Text(f"clock {clock}"),
                    ft.Text(f"up {fmt.duration(engine.uptime_s)}"),
                    ft.Text(
                        f"{status.workers.total} workers" + (f": {workers}" if workers else "")
                    ),
                    muted(f"server {status.version}"),
                ],
                wrap=True,
                spacing=16,
            ),
            muted("Guards, in check order: " + (", ".join(status.guards) or "none")),
        )

    def _account_row(self, account: models.Account) -> list[ft.Control | str]:
        connector = account.connector
        health = "trading" if connector.trading_allowed else f"halted: {connector.halted_reason}"
        if not connector.storage_healthy:
            health += " · storage unhealthy"
        pnl_day = self.context.state.pnl_day.get(account.id)
        return [
            account.id,
            account.mode,
            fmt.money(account.balance, account.currency),
            fmt.signed_money(pnl_day, account.currency),
            badge(account.trading_state),
            badge(connector.circuit),
            f"{connector.connector}: {health}",
            str(account.orders_submitted),
            " · ".join(f"{n} {s}" for s, n in sorted(account.workers.items())) or "none",
        ]

    def _restrictions(self, status: models.Status) -> list[ft.Control]:
        rows: list[list[ft.Control | str]] = [
            [a.id, badge(r.effect), r.guard, r.reason, r.detail, fmt.date_time(r.until)]
            for a in status.accounts
            for r in a.restrictions
        ]
        if not rows:
            return [muted("No guard restricts trading.")]
        return [table(["account", "effect", "guard", "reason", "detail", "until"], rows)]

    def _health(self) -> list[ft.Control]:
        state = self.context.state
        now = self.context.clock()
        rest_age = state.rest.age(now)
        live_age = None if state.last_live_message is None else now - state.last_live_message
        rest = "stale" if state.rest.stale(now) else "ok"
        lines: list[ft.Control] = [
            ft.Row(
                [ft.Text("REST API"), badge(rest), muted(f"last status {fmt.age(rest_age)}")],
                spacing=10,
            ),
            ft.Row(
                [ft.Text("Live feed"), badge(state.live), muted(f"last event {fmt.age(live_age)}")],
                spacing=10,
            ),
            muted(f"server {self.context.client.base_url}"),
        ]
        if state.rest.last_error:
            lines.append(muted(f"last error: {state.rest.last_error}"))
        return lines
