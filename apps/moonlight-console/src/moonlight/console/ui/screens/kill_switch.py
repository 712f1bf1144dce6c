"""The kill-switch: engage with a confirmation and a reason, re-arm with a person's name."""

from __future__ import annotations

import flet as ft

from moonlight.console import formatting as fmt
from moonlight.console.ui.context import Context
from moonlight.console.ui.screens.base import Screen
from moonlight.console.ui.widgets import BAD, OK, Confirm, badge, muted, panel, table


def ask_engage(context: Context, account_id: str | None = None) -> None:
    """Open the confirmation dialog that engages the global (or one account's) switch."""
    where = "ALL trading" if account_id is None else f"trading on {account_id}"

    async def engage(operator: str, reason: str) -> None:
        await context.client.engage_kill_switch(
            operator=operator, reason=reason, account_id=account_id
        )
        context.session.request("status", "alarms")

    Confirm(
        context.page,
        title="Engage the kill switch",
        text=f"Stop {where} now? Orders already open run to their end; only a person can"
        " re-arm it.",
        confirm_label="Engage",
        operator=context.operator,
        action=engage,
        needs_reason=True,
        remember_operator=context.remember_operator,
    ).open()


def ask_re_arm(context: Context, account_id: str | None = None) -> None:
    """Open the confirmation dialog that re-arms the switch (trading may resume)."""

    async def re_arm(operator: str, _reason: str) -> None:
        await context.client.re_arm_kill_switch(operator=operator, account_id=account_id)
        context.session.request("status", "alarms")

    Confirm(
        context.page,
        title="Re-arm the kill switch",
        text="Allow trading again" + (f" on {account_id}?" if account_id else "?"),
        confirm_label="Re-arm",
        operator=context.operator,
        action=re_arm,
        remember_operator=context.remember_operator,
    ).open()


class KillSwitchScreen(Screen):
    title = "Kill switch"
    icon = ft.Icons.POWER_SETTINGS_NEW
    areas = frozenset({"status"})

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.shown: object = None

    def render(self) -> None:
        status = self.context.state.status
        if status is None:
            self.body.controls = [muted("Waiting for the server's status…")]
            return
        switch = status.kill_switch
        shown = (switch, tuple(a.id for a in status.accounts))
        if shown == self.shown and self.body.controls:
            return  # unchanged: keep the buttons (re-creating them drops a click under way)
        self.shown = shown
        engagement = switch.global_engagement
        if engagement is None:
            headline = ft.Text("Kill switch armed: trading is allowed", size=18, color=OK)
            action: ft.Control = ft.FilledButton(
                "Engage kill switch",
                icon=ft.Icons.STOP_CIRCLE,
                style=ft.ButtonStyle(bgcolor=BAD),
                on_click=lambda _: ask_engage(self.context),
            )
            detail: ft.Control = muted("Engaging stops every new decision at once.")
        else:
            headline = ft.Text(
                f"Kill switch ENGAGED by {engagement.by}",
                size=18,
                color=BAD,
                weight=ft.FontWeight.BOLD,
            )
            action = ft.Button(
                "Re-arm kill switch",
                icon=ft.Icons.PLAY_CIRCLE,
                on_click=lambda _: ask_re_arm(self.context),
            )
            detail = ft.Text(f"since {fmt.date_time(engagement.at)}: {engagement.reason}")
        rows: list[list[ft.Control | str]] = []
        for account in status.accounts:
            engaged = switch.accounts.get(account.id)
            rows.append(
                [
                    account.id,
                    badge("engaged" if engaged else "armed"),
                    f"{engaged.by}: {engaged.reason}" if engaged else fmt.DASH,
                    ft.TextButton(
                        f"{'Re-arm' if engaged else 'Engage'} {account.id}",
                        on_click=lambda _, a=account.id, e=bool(engaged): (
                            ask_re_arm(self.context, a) if e else ask_engage(self.context, a)
                        ),
                    ),
                ]
            )
        self.body.controls = [
            panel("Global kill switch", headline, detail, action),
            panel("Per account", table(["account", "switch", "engaged by", ""], rows)),
        ]
