"""Settings: the runtime overrides (validated by the server, every problem shown) and the
configuration in force (secrets redacted by the server)."""

from __future__ import annotations

import flet as ft

from moonlight.console import formatting as fmt
from moonlight.console.api import ApiError
from moonlight.console.overrides import OverridesTextError, dump_tree, parse_overrides
from moonlight.console.ui.context import Context
from moonlight.console.ui.screens.base import Screen
from moonlight.console.ui.widgets import BAD, OK, muted, panel

EXAMPLE = "risk:\n  threshold: 0.6\n"


class SettingsScreen(Screen):
    title = "Settings"
    icon = ft.Icons.TUNE
    areas = frozenset({"overrides", "config"})
    fetch_on_open = ("overrides", "config")

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.editor = ft.TextField(
            label="Runtime overrides (YAML, a partial configuration)",
            multiline=True,
            min_lines=6,
            max_lines=16,
            width=640,
            hint_text=EXAMPLE,
        )
        self.operator = ft.TextField(label="Your name (audit log)", width=320, max_length=128)
        self.problems = ft.Column(spacing=2)
        self.loaded = False

    def render(self) -> None:
        state = self.context.state
        overrides = state.overrides
        if overrides is not None and not self.loaded:
            if not self.editor.value:  # never overwrite what the operator already typed
                self.editor.value = dump_tree(overrides.overrides) if overrides.overrides else ""
            self.loaded = True
        if not self.operator.value:
            self.operator.value = self.context.operator
        if overrides is None:
            stamp = "loading the overrides…"
        elif overrides.updated_by:
            stamp = f"last set by {overrides.updated_by} at {fmt.date_time(overrides.updated_at)}"
        else:
            stamp = "no overrides set"
        config = state.config
        self.body.controls = [
            panel(
                "Runtime overrides",
                muted(
                    "Validated like `moonlight config check`; they apply at the next start."
                    " An empty text clears them."
                ),
                muted(stamp),
                self.editor,
                ft.Row(
                    [
                        self.operator,
                        ft.FilledButton(
                            "Validate and save", icon=ft.Icons.SAVE, on_click=self._save
                        ),
                    ]
                ),
                self.problems,
            ),
            panel(
                "Configuration in force (secrets redacted)",
                ft.Text(
                    dump_tree(config) if config else "loading…",
                    font_family="monospace",
                    size=12,
                ),
            ),
        ]

    async def _save(self, _event: object) -> None:
        operator = (self.operator.value or "").strip()
        if not operator:
            self._show(["Enter your name: every change is recorded with it."], ok=False)
            return
        try:
            tree = parse_overrides(self.editor.value or "")
        except OverridesTextError as error:
            self._show([str(error)], ok=False)
            return
        self.context.remember_operator(operator)
        try:
            stored = await self.context.client.set_overrides(tree, operator=operator)
        except ApiError as error:
            lines = [f"{p.path}: {p.message}" for p in error.problems] or [error.message]
            self._show(lines, ok=False)
            return
        self.context.state.overrides = stored
        self.editor.value = dump_tree(stored.overrides) if stored.overrides else ""
        self._show(["Saved: the overrides apply at the next start."], ok=True)
        self.context.session.request("alarms")

    def _show(self, lines: list[str], *, ok: bool) -> None:
        colour = OK if ok else BAD
        title = [] if ok else [ft.Text(f"{len(lines)} problem(s):", color=colour)]
        self.problems.controls = [
            *title,
            *(ft.Text(line, color=colour) for line in lines),
        ]
        self.render()
