"""Workers: one per account × instrument × timeframe, each with pause/resume (audited)."""

from __future__ import annotations

import flet as ft

from moonlight.console import formatting as fmt, models
from moonlight.console.ui.screens.base import Screen
from moonlight.console.ui.widgets import Confirm, badge, muted, panel, table


class WorkersScreen(Screen):
    title = "Workers"
    icon = ft.Icons.MEMORY
    areas = frozenset({"workers"})
    fetch_on_open = ("workers",)

    def render(self) -> None:
        workers = self.context.state.workers
        toolbar = ft.Row(
            [
                ft.Button("Pause all", icon=ft.Icons.PAUSE, on_click=lambda _: self._ask([], True)),
                ft.Button(
                    "Resume all", icon=ft.Icons.PLAY_ARROW, on_click=lambda _: self._ask([], False)
                ),
                muted(
                    f"{len(workers)} workers; paused workers keep reading bars but stop deciding"
                ),
            ],
            wrap=True,
        )
        if workers:
            content: ft.Control = table(
                ["worker", "state", "bars", "decisions", "stale bars", "failures", "last bar", ""],
                [self._row(w) for w in workers],
            )
        else:
            content = muted("No workers reported yet.")
        self.body.controls = [panel("Workers", toolbar, content)]

    def _row(self, worker: models.Worker) -> list[ft.Control | str]:
        verb = "Resume" if worker.paused else "Pause"
        return [
            worker.label,
            badge(worker.state),
            str(worker.bars_seen),
            str(worker.decisions),
            str(worker.stale_bars),
            str(worker.failures),
            fmt.clock(worker.last_bar_end),
            ft.TextButton(
                f"{verb} {worker.label}",
                on_click=lambda _, w=worker: self._ask([w.label], not w.paused),
            ),
        ]

    def _ask(self, labels: list[str], pause: bool) -> None:
        verb = "Pause" if pause else "Resume"
        what = ", ".join(labels) if labels else "every worker"

        async def change(operator: str, _reason: str) -> None:
            client = self.context.client
            if pause:
                await client.pause(labels, operator=operator)
            else:
                await client.resume(labels, operator=operator)
            self.context.session.request("workers", "status")

        Confirm(
            self.context.page,
            title=f"{verb} workers",
            text=f"{verb} {what}?",
            confirm_label=verb,
            operator=self.context.operator,
            action=change,
            remember_operator=self.context.remember_operator,
        ).open()
