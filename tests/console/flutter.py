"""Driving a Flutter web page through its semantics tree (Playwright, sync API).

Flutter draws on a canvas; its accessibility tree (turned on by clicking the hidden
``flt-semantics-placeholder``) gives every text, field and button a DOM node with a
role and a name, so tests read and press by label as a person would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

WAIT_MS = 60_000
FIRST_RENDER_MS = 90_000
PAINT_MS = 1_000


def open_app(page: Any, url: str) -> None:
    """Load the app and switch its semantics tree on."""
    page.goto(url)
    placeholder = page.locator("flt-semantics-placeholder")
    placeholder.wait_for(state="attached", timeout=FIRST_RENDER_MS)
    placeholder.dispatch_event("click")


def text(page: Any, value: str | re.Pattern[str], timeout_ms: int = WAIT_MS) -> Any:
    """The first node showing ``value`` (substring or pattern), once it is visible."""
    found = page.get_by_text(value).first
    found.wait_for(timeout=timeout_ms)
    return found


def press(page: Any, name: str, *, exact: bool = False) -> None:
    """Press the (first) button called ``name`` (or whose name contains it)."""
    page.get_by_role("button", name=name, exact=exact).first.click()


def press_until(
    page: Any, name: str, shows: str | re.Pattern[str], *, exact: bool = False, tries: int = 3
) -> None:
    """Press a button until ``shows`` appears (a tap can be lost while Flutter redraws
    the button under a busy machine; each try waits long enough for a slow frame)."""

    def tap(attempt: int) -> None:
        button = page.get_by_role("button", name=name, exact=exact).first
        if attempt == 0 or button.count():  # a later try only if the button is still there
            button.click(timeout=WAIT_MS // tries)

    _until_shown(page, tap, shows, tries)


def _until_shown(
    page: Any, act: Callable[[int], None], shows: str | re.Pattern[str], tries: int
) -> None:
    """``act(attempt)`` then wait for ``shows``, up to ``tries`` times (the last miss
    raises Playwright's TimeoutError)."""
    from playwright.sync_api import TimeoutError as NotShown

    for attempt in range(tries):
        act(attempt)
        try:
            text(page, shows, timeout_ms=WAIT_MS // tries)
            return
        except NotShown:
            if attempt == tries - 1:
                raise


def type_into(page: Any, label: str, value: str, *, replace: bool = False) -> None:
    """Type into the text field labelled ``label`` (select what is there first if asked)."""
    field = page.get_by_role("textbox", name=label).first
    field.click()
    if replace:
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
    page.keyboard.type(value)


def fill_and_press_until(
    page: Any,
    fields: dict[str, str],
    name: str,
    shows: str | re.Pattern[str],
    *,
    exact: bool = True,
    tries: int = 3,
) -> None:
    """Fill ``fields`` (label → text, each replacing what is there), press ``name`` and
    wait for ``shows``; all of it again if it does not show (a keystroke or a tap can be
    lost while Flutter redraws under a busy machine, and retyping is idempotent)."""

    def fill_and_press(_attempt: int) -> None:
        for label, value in fields.items():
            type_into(page, label, value, replace=True)
        press(page, name, exact=exact)

    _until_shown(page, fill_and_press, shows, tries)


def navigate(page: Any, title: str) -> None:
    """Open a screen from the navigation rail (its tabs are named '<title> Tab n of m')."""
    page.get_by_role("button", name=re.compile(rf"^{re.escape(title)} Tab \d")).click()


def snap(page: Any, path: Path) -> None:
    """A screenshot once the frame is painted (the semantics tree can run ahead of it)."""
    page.wait_for_timeout(PAINT_MS)
    page.screenshot(path=str(path))


def all_text(page: Any) -> str:
    """Every text the semantics tree exposes, one node per line."""
    return str(page.locator("flt-semantics-host").inner_text())
