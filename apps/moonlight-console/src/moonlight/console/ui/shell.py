"""The signed-in window: a status bar (engine, kill switch, data freshness), the
navigation rail and the open screen."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from moonlight.console import formatting as fmt
from moonlight.console.models import Engagement
from moonlight.console.ui.context import Context
from moonlight.console.ui.screens import SCREENS, Screen
from moonlight.console.ui.screens.kill_switch import ask_engage, ask_re_arm
from moonlight.console.ui.widgets import ACCENT, BAD, LINE, OK, PANEL, WARN, badge, muted, tone

HEADER_AREAS = frozenset({"status", "health", "live"})


class Shell:
    """Header + navigation + the selected screen; :meth:`changed` redraws what changed."""

    def __init__(self, context: Context, *, sign_out: Callable[[], None]) -> None:
        self.context = context
        self.screens: list[Screen] = [screen(context) for screen in SCREENS]
        self.current = self.screens[0]
        self.engine = ft.Row(spacing=8, wrap=True)
        self.kill = ft.Row(spacing=8)
        self.stale = ft.Container(visible=False, bgcolor="#3d2e00", padding=8)
        self.kill_shown: Engagement | None = None
        self.rail = ft.NavigationRail(
            selected_index=0,
            label_type=ft.NavigationRailLabelType.ALL,
            min_width=92,
            destinations=[
                ft.NavigationRailDestination(icon=s.icon, label=s.title) for s in self.screens
            ],
            on_change=self._navigate,
        )
        self.content = ft.Container(content=self.current.body, expand=True, padding=12)
        self.engine.expand = True
        header = ft.Container(
            content=ft.Row(
                [
                    ft.Text("MoonLight", size=18, weight=ft.FontWeight.BOLD, color=ACCENT),
                    self.engine,
                    self.kill,
                    ft.TextButton("Sign out", on_click=lambda _: sign_out()),
                ],
            ),
            bgcolor=PANEL,
            padding=ft.Padding.symmetric(horizontal=16, vertical=8),
            border=ft.Border.only(bottom=ft.BorderSide(1, LINE)),
        )
        self.root = ft.Column(
            [
                header,
                self.stale,
                ft.Row([self.rail, ft.VerticalDivider(width=1), self.content], expand=True),
            ],
            spacing=0,
            expand=True,
        )

    def _navigate(self, event: ft.Event[ft.NavigationRail]) -> None:
        self.current = self.screens[event.control.selected_index or 0]
        self.content.content = self.current.body
        self.current.opened()

    def changed(self, areas: set[str]) -> None:
        """Redraw the header and, if its data changed, the open screen."""
        if areas & HEADER_AREAS:
            self._header()
        if areas & self.current.areas:
            self.current.render()

    def _header(self) -> None:
        state = self.context.state
        status = state.status
        now = self.context.clock()
        if status is not None:
            engine = status.engine
            clock = fmt.clock(engine.clock_time) + (" sim" if engine.simulated_clock else " UTC")
            self.engine.controls = [
                badge(f"engine {engine.state}", tone(engine.state)),
                muted(clock),
                *(
                    badge(f"{a.id}: {a.trading_state}", tone(a.trading_state))
                    for a in status.accounts
                ),
            ]
            engagement = status.kill_switch.global_engagement
            if engagement != self.kill_shown or not self.kill.controls:
                # rebuilt only on a change: re-creating a button drops a click under way
                self.kill.controls = self._kill_controls(engagement)
                self.kill_shown = engagement
        stale = state.rest.stale(now) or state.live != "connected"
        self.stale.visible = stale
        if stale:
            age = fmt.age(state.rest.age(now))
            why = state.rest.last_error or f"live feed {state.live}"
            self.stale.content = ft.Text(
                f"Data may be stale: last status {age} ({why}); reconnecting by itself…",
                color=WARN,
            )

    def _kill_controls(self, engagement: Engagement | None) -> list[ft.Control]:
        if engagement is None:
            return [
                badge("kill switch armed", OK),
                ft.FilledButton(
                    "Engage kill switch",
                    icon=ft.Icons.STOP_CIRCLE,
                    style=ft.ButtonStyle(bgcolor=BAD),
                    on_click=lambda _: ask_engage(self.context),
                ),
            ]
        return [
            badge(f"kill switch ENGAGED by {engagement.by}", BAD),
            ft.Button(
                "Re-arm", icon=ft.Icons.PLAY_CIRCLE, on_click=lambda _: ask_re_arm(self.context)
            ),
        ]
