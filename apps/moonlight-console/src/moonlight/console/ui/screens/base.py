"""The shape of a screen: a title and icon for the navigation, the data areas it shows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import flet as ft

from moonlight.console.ui.context import Context


class Screen(ABC):
    """A screen renders the state into ``self.body`` whenever one of its areas changes."""

    title: ClassVar[str]
    icon: ClassVar[ft.IconData]
    areas: ClassVar[frozenset[str]]
    """State areas whose change redraws the screen."""
    fetch_on_open: ClassVar[tuple[str, ...]] = ()
    """Areas fetched again each time the screen is opened."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.body = ft.Column(spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)

    def opened(self) -> None:
        """Called when the operator opens the screen."""
        if self.fetch_on_open:
            self.context.session.request(*self.fetch_on_open)
        self.render()

    @abstractmethod
    def render(self) -> None:
        """Rebuild ``self.body`` from the state (the caller updates the page)."""
