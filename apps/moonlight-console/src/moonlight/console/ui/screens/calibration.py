"""Calibration: how honest p-hat (p̂) was -- the reliability curve and ECE per instrument."""

from __future__ import annotations

import flet as ft

from moonlight.console import formatting as fmt, models
from moonlight.console.chart import reliability_plot
from moonlight.console.ui.context import Context
from moonlight.console.ui.screens.base import Screen
from moonlight.console.ui.widgets import muted, panel, plot_view, table

CHART_SIZE = 360.0
ALL = "all"


class CalibrationScreen(Screen):
    title = "Calibration"
    icon = ft.Icons.INSIGHTS
    areas = frozenset({"calibration"})
    fetch_on_open = ("calibration",)

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.chosen = ALL
        self.picker = ft.Dropdown(
            label="Instrument", value=ALL, width=220, dense=True, on_select=self._pick
        )

    def _pick(self, _event: object) -> None:
        self.chosen = self.picker.value or ALL
        self.render()

    def render(self) -> None:
        calibration = self.context.state.calibration
        if calibration is None or calibration.overall is None:
            self.body.controls = [
                panel(
                    "Calibration",
                    muted(
                        "No settled orders with a p-hat yet: the reliability curve appears with"
                        " the first wins and losses."
                    ),
                )
            ]
            return
        rows = {r.instrument: r for r in calibration.instruments}
        rows[ALL] = calibration.overall
        self.picker.options = [
            ft.DropdownOption(key=k, text="every instrument" if k == ALL else k)
            for k in [ALL, *(r.instrument for r in calibration.instruments)]
        ]
        chosen = rows.get(self.chosen, calibration.overall)
        plot = reliability_plot(
            [(b.mean_predicted, b.observed) for b in chosen.bins], CHART_SIZE * 1.4, CHART_SIZE
        )
        caption = f"{chosen.instrument}: ECE {fmt.ratio(chosen.ece)} over {chosen.samples} orders"
        self.body.controls = [
            panel(
                "Reliability (observed win rate against p-hat)",
                ft.Row([self.picker, muted("dashed: perfect calibration")], spacing=16),
                plot_view(plot, caption, points=True),
                muted("x: mean p-hat of a bin · y: fraction of those orders that won"),
            ),
            panel(
                "Per instrument",
                table(
                    ["instrument", "orders", "won", "Brier", "ECE"],
                    [_row(r) for r in [calibration.overall, *calibration.instruments]],
                ),
            ),
        ]


def _row(row: models.CalibrationRow) -> list[ft.Control | str]:
    return [
        row.instrument,
        str(row.samples),
        fmt.probability(row.base_rate),
        fmt.ratio(row.brier),
        fmt.ratio(row.ece),
    ]
