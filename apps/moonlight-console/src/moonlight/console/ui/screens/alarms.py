"""Alarms: newest first, with level, time, code, message and scope; says when there are none."""

from __future__ import annotations

import flet as ft

from moonlight.console import formatting as fmt
from moonlight.console.ui.screens.base import Screen
from moonlight.console.ui.widgets import badge, muted, panel, table


class AlarmsScreen(Screen):
    title = "Alarms"
    icon = ft.Icons.NOTIFICATIONS
    areas = frozenset({"alarms"})
    fetch_on_open = ("alarms",)

    def render(self) -> None:
        alarms = self.context.state.alarms
        if not alarms:
            content: ft.Control = muted("No alarms.")
        else:
            content = table(
                ["time", "level", "code", "message", "scope"],
                [
                    [
                        fmt.date_time(a.ts),
                        badge(a.level),
                        a.code,
                        ft.Text(a.message, width=560),
                        a.scope,
                    ]
                    for a in alarms
                ],
            )
        self.body.controls = [panel(f"Alarms ({len(alarms)})", content)]
