"""What every screen of one signed-in console shares: the page, the session, the operator."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import flet as ft

from moonlight.console.api import ApiClient
from moonlight.console.session import ConsoleSession
from moonlight.console.state import ConsoleState


@dataclass(slots=True)
class Context:
    """One browser tab's (or window's) console."""

    page: ft.Page
    session: ConsoleSession
    operator: str = ""
    clock: Any = field(default=time.monotonic)

    @property
    def state(self) -> ConsoleState:
        return self.session.state

    @property
    def client(self) -> ApiClient:
        return self.session.client

    def remember_operator(self, name: str) -> None:
        """The name pre-filled in the next confirmation dialog."""
        self.operator = name
