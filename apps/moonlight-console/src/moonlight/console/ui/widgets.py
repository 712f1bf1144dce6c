"""Small Flet building blocks shared by the screens: badges, tables, charts, dialogs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import flet as ft
import flet.canvas as cv

from moonlight.console.chart import Plot

OK = "#3fb950"
WARN = "#d29922"
BAD = "#f85149"
MUTED = "#8b949e"
ACCENT = "#58a6ff"
PANEL = "#161b22"
LINE = "#30363d"
PLOT_BG = "#0b0f14"

_TONES = {
    OK: {"active", "running", "closed", "win", "settled", "info", "connected", "armed", "ok"},
    WARN: {
        "reducing",
        "paused",
        "half_open",
        "backoff",
        "warning",
        "push",
        "reconnecting",
        "starting",
        "connecting",
        "stale",
        "open order",
    },
    BAD: {
        "halted",
        "stopped",
        "open",
        "failed",
        "critical",
        "lose",
        "abort",
        "engaged",
        "unauthenticated",
        "unreachable",
    },
}


def tone(value: str) -> str:
    """The colour of a state word (green, amber, red, or muted)."""
    word = value.lower()
    return next((colour for colour, words in _TONES.items() if word in words), MUTED)


def badge(text: str, colour: str | None = None) -> ft.Container:
    """A rounded, outlined label in its state's colour."""
    colour = colour or tone(text)
    return ft.Container(
        content=ft.Text(text, size=12, color=colour, no_wrap=True),
        border=ft.Border.all(1, colour),
        border_radius=10,
        padding=ft.Padding.symmetric(horizontal=8, vertical=1),
    )


def panel(title: str, *controls: ft.Control, expand: bool | int | None = None) -> ft.Container:
    """A titled card."""
    return ft.Container(
        content=ft.Column(
            [ft.Text(title, size=15, weight=ft.FontWeight.W_600), *controls], spacing=8
        ),
        bgcolor=PANEL,
        border=ft.Border.all(1, LINE),
        border_radius=6,
        padding=12,
        expand=expand,
    )


def muted(text: str, size: int = 13) -> ft.Text:
    return ft.Text(text, color=MUTED, size=size)


def table(headers: Sequence[str], rows: Sequence[Sequence[ft.Control | str]]) -> ft.Control:
    """A data table that scrolls sideways on narrow windows instead of breaking words."""
    return ft.Row(
        [
            ft.DataTable(
                columns=[
                    ft.DataColumn(label=ft.Text(h, color=MUTED, no_wrap=True)) for h in headers
                ],
                rows=[
                    ft.DataRow(
                        [
                            ft.DataCell(ft.Text(c, no_wrap=True) if isinstance(c, str) else c)
                            for c in row
                        ]
                    )
                    for row in rows
                ],
                column_spacing=18,
                heading_row_height=34,
                data_row_min_height=30,
                data_row_max_height=40,
            )
        ],
        scroll=ft.ScrollMode.AUTO,
    )


def plot_view(plot: Plot, caption: str, *, points: bool = False) -> ft.Stack:
    """A chart: axes, grid, the reference and data lines on a canvas; tick labels as text."""
    grid = ft.Paint(color=LINE, stroke_width=1)
    axis = ft.Paint(color=MUTED, stroke_width=1)
    shapes: list[cv.Shape] = []
    for tick in plot.y_ticks:
        shapes.append(cv.Line(plot.left, tick.position, plot.right, tick.position, paint=grid))
    for tick in plot.x_ticks:
        shapes.append(cv.Line(tick.position, plot.top, tick.position, plot.bottom, paint=grid))
    shapes.append(cv.Line(plot.left, plot.bottom, plot.right, plot.bottom, paint=axis))
    shapes.append(cv.Line(plot.left, plot.top, plot.left, plot.bottom, paint=axis))
    if len(plot.reference) == 2:
        (x1, y1), (x2, y2) = plot.reference
        shapes.append(
            cv.Line(
                x1,
                y1,
                x2,
                y2,
                paint=ft.Paint(color=MUTED, stroke_width=1, stroke_dash_pattern=[4, 4]),
            )
        )
    stroke = ft.Paint(color=ACCENT, stroke_width=2, style=ft.PaintingStyle.STROKE)
    if len(plot.line) >= 2:
        elements: list[cv.Path.PathElement] = [cv.Path.MoveTo(*plot.line[0])]
        elements += [cv.Path.LineTo(x, y) for x, y in plot.line[1:]]
        shapes.append(cv.Path(elements, paint=stroke))
    if points or len(plot.line) == 1:
        shapes += [cv.Circle(x, y, 3, paint=ft.Paint(color=ACCENT)) for x, y in plot.line]
    labels: list[ft.Control] = [
        ft.Text(
            t.label,
            size=11,
            color=MUTED,
            right=plot.width - plot.left + 6,
            top=t.position - 8,
            no_wrap=True,
        )
        for t in plot.y_ticks
    ]
    labels += [
        ft.Text(
            t.label, size=11, color=MUTED, left=t.position - 18, top=plot.bottom + 6, no_wrap=True
        )
        for t in plot.x_ticks
    ]
    return ft.Stack(
        [
            ft.Container(bgcolor=PLOT_BG, border_radius=4, width=plot.width, height=plot.height),
            cv.Canvas(shapes, width=plot.width, height=plot.height),
            *labels,
            ft.Text(caption, size=12, color=MUTED, left=plot.left + 8, top=plot.top + 2),
        ],
        width=plot.width,
        height=plot.height,
    )


class Confirm:
    """A modal confirmation: operator name (and optionally a reason), errors shown inline.

    ``action(operator, reason)`` runs on Confirm; an exception's message stays in the
    dialog so nothing is lost, success closes it.
    """

    def __init__(
        self,
        page: ft.Page,
        *,
        title: str,
        text: str,
        confirm_label: str,
        operator: str,
        action: Callable[[str, str], Awaitable[None]],
        needs_reason: bool = False,
        remember_operator: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.page = page
        self.action = action
        self.remember_operator = remember_operator
        self.needs_reason = needs_reason
        self.operator = ft.TextField(label="Your name (audit log)", value=operator, max_length=128)
        self.reason = ft.TextField(label="Reason", visible=needs_reason, max_length=500)
        self.error = ft.Text("", color=BAD)
        self.dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(title),
            content=ft.Column(
                [ft.Text(text), self.operator, self.reason, self.error], tight=True, width=420
            ),
            actions=[
                ft.TextButton("Cancel", on_click=self._cancel),
                ft.FilledButton(
                    confirm_label, on_click=self._confirm, style=ft.ButtonStyle(bgcolor=BAD)
                ),
            ],
        )

    def open(self) -> None:
        self.page.show_dialog(self.dialog)

    def _cancel(self, _event: object) -> None:
        self.page.pop_dialog()

    async def _confirm(self, _event: object) -> None:
        operator = (self.operator.value or "").strip()
        reason = (self.reason.value or "").strip()
        if not operator:
            self.error.value = "Enter your name: every change is recorded with it."
            return
        if self.needs_reason and not reason:
            self.error.value = "Say why (it is stored with the change)."
            return
        self.remember_operator(operator)
        try:
            await self.action(operator, reason)
        except Exception as error:  # shown to the operator, nothing is lost
            self.error.value = str(error)
            return
        self.page.pop_dialog()
