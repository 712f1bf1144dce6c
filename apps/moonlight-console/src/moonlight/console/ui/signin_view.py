"""The sign-in form: a login link or the API token, the operator's name, the keyring."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import flet as ft

from moonlight.console.signin import SignIn, SignInError, parse_sign_in
from moonlight.console.ui.widgets import ACCENT, BAD, muted, panel


class SignInView:
    """Calls ``submit(sign_in, operator, remember)``; a returned text is shown as an error."""

    def __init__(
        self,
        *,
        server: str,
        message: str,
        keyring_offered: bool,
        submit: Callable[[SignIn, str, bool], Awaitable[str | None]],
    ) -> None:
        self.submit = submit
        self.server = ft.TextField(label="Server", value=server, width=420)
        self.secret = ft.TextField(
            label="Login link or API token",
            password=True,
            can_reveal_password=True,
            width=420,
            on_submit=self._submit,
        )
        self.operator = ft.TextField(label="Your name (recorded with every change)", width=420)
        self.remember = ft.Checkbox(
            label="Remember the token in the OS keyring", visible=keyring_offered
        )
        self.error = ft.Text(message, color=BAD)
        self.button = ft.FilledButton("Sign in", icon=ft.Icons.LOGIN, on_click=self._submit)
        self.root = ft.Container(
            content=panel(
                "Sign in to a MoonLight server",
                muted(
                    "Paste the one-time link the server printed at start"
                    " (http://127.0.0.1:8765/login#…), or the API token from"
                    " <data_dir>/api-token."
                ),
                self.server,
                self.secret,
                self.operator,
                self.remember,
                self.button,
                self.error,
            ),
            width=480,
            margin=ft.Margin.only(top=60),
        )
        self.title = ft.Text("MoonLight console", size=22, color=ACCENT)

    async def _submit(self, _event: object) -> None:
        try:
            sign_in = parse_sign_in(self.secret.value or "", self.server.value or "")
        except SignInError as error:
            self.error.value = str(error)
            return
        self.button.disabled = True
        self.error.value = "Signing in…"
        self.error.update()
        try:
            problem = await self.submit(
                sign_in, (self.operator.value or "").strip(), bool(self.remember.value)
            )
        finally:
            self.button.disabled = False
        self.secret.value = ""
        self.error.value = problem or ""
