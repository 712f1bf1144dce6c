"""The console application: sign in, then the shell, for each window or browser tab.

:func:`make_main` returns the ``main(page)`` Flet calls for every session (a native
window, or each browser tab in ``--web`` mode). Each has its own API client and
:class:`~moonlight.console.session.ConsoleSession`; closing the tab ends them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import flet as ft

from moonlight.console.api import ApiClient, ApiError
from moonlight.console.session import ConsoleSession
from moonlight.console.signin import SignIn, TokenKeyring
from moonlight.console.ui.context import Context
from moonlight.console.ui.shell import Shell
from moonlight.console.ui.signin_view import SignInView

log = logging.getLogger("moonlight.console")

REDRAW_S = 1.0


@dataclass(frozen=True, slots=True)
class ConsoleOptions:
    """How the console was started (see :mod:`moonlight.console.cli`)."""

    server: str
    use_keyring: bool
    """Desktop only: a browser user is not necessarily the OS user whose keyring it is."""


def make_main(
    options: ConsoleOptions, keyring: TokenKeyring | None = None
) -> Callable[[ft.Page], Awaitable[None]]:
    """The Flet entry point for one window or tab."""
    tokens = keyring or TokenKeyring()

    async def main(page: ft.Page) -> None:
        await ConsoleApp(page, options, tokens).start()

    return main


class ConsoleApp:
    """One window's or tab's console: sign-in form, then the shell, until signed out."""

    def __init__(self, page: ft.Page, options: ConsoleOptions, tokens: TokenKeyring) -> None:
        self.page = page
        self.options = options
        self.tokens = tokens
        self.stop: asyncio.Event | None = None
        self.runner: asyncio.Future[None] | None = None
        self.session: ConsoleSession | None = None

    async def start(self) -> None:
        page = self.page
        page.title = "MoonLight console"
        page.theme_mode = ft.ThemeMode.DARK
        page.padding = 0
        page.on_disconnect = lambda _: self._end()
        page.on_close = lambda _: self._end()
        remembered = self.tokens.load(self.options.server) if self.options.use_keyring else None
        if remembered is not None:
            problem = await self._sign_in(SignIn(self.options.server, token=remembered), "", False)
            if problem is None:
                return
            self._show_sign_in(f"The remembered token was refused: {problem}")
            return
        self._show_sign_in("")

    def _show_sign_in(self, message: str) -> None:
        view = SignInView(
            server=self.options.server,
            message=message,
            keyring_offered=self.options.use_keyring,
            submit=self._sign_in,
        )
        self.page.controls = [ft.Row([view.root], alignment=ft.MainAxisAlignment.CENTER)]
        self.page.update()

    async def _sign_in(self, sign_in: SignIn, operator: str, remember: bool) -> str | None:
        """Connect; None on success, else what went wrong (the form shows it)."""
        client = ApiClient(sign_in.server)
        try:
            if sign_in.code is not None:
                await client.redeem_code(sign_in.code)
            elif sign_in.token is not None:
                await client.use_token(sign_in.token)
        except ApiError as error:
            await client.aclose()
            if error.unauthenticated:
                return "The server refused it: a login link works once; check the token."
            return error.message
        problem = None
        if remember and sign_in.token is not None:
            problem = self.tokens.save(sign_in.server, sign_in.token)
        self._open(client, operator)
        return problem

    def _open(self, client: ApiClient, operator: str) -> None:
        shell: Shell | None = None
        pending: set[str] = set()
        loop = asyncio.get_running_loop()

        def flush() -> None:
            areas = set(pending)
            pending.clear()
            if shell is None or self.session is not session:
                return  # a session that ended (signed out, replaced) draws nothing
            if "session" in areas and session.signed_out:
                self._end()
                self._show_sign_in("The server ended the session: sign in again.")
                return
            shell.changed(areas)
            self.page.update()

        def changed(areas: set[str]) -> None:
            # Coalesce: at a fast engine many events arrive per second; redraw at most
            # every REDRAW_S (Flutter re-lays out whole tables on each update).
            if not pending:
                loop.call_later(REDRAW_S, flush)
            pending.update(areas)

        session = ConsoleSession(client, on_change=changed)
        self.session = session
        context = Context(page=self.page, session=session, operator=operator)
        shell = Shell(context, sign_out=self._sign_out)
        self.page.controls = [shell.root]
        shell.current.opened()
        self.page.update()
        self.stop = asyncio.Event()
        self.runner = asyncio.ensure_future(self._run(session, client, self.stop))

    async def _run(self, session: ConsoleSession, client: ApiClient, stop: asyncio.Event) -> None:
        try:
            await session.run(stop)
        finally:
            await client.aclose()

    def _sign_out(self) -> None:
        server = self.session.client.base_url if self.session is not None else None
        self._end()
        if self.options.use_keyring and server is not None:
            self.tokens.forget(server)  # signing out also forgets a remembered token
        self._show_sign_in("Signed out.")

    def _end(self) -> None:
        if self.stop is not None:
            self.stop.set()
        if self.runner is not None:
            self.runner.add_done_callback(_report)
        self.stop = self.runner = None
        self.session = None


def _report(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the console session ended with an error: %r", task.exception())
