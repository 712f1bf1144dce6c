"""The dashboard in headless Chromium: sign in, live orders over the WebSocket, kill-switch.

Drives Debian's ``/usr/bin/chromium`` through Playwright (``executable_path``; Playwright
never downloads a browser here). The engine trades paper on a simulated clock 30× real
time behind the real uvicorn on 127.0.0.1. The test signs in through the one-time link,
waits for order events to arrive on the page's WebSocket and show up in the live table,
pulls the kill-switch through the confirmation dialog, and inspects screenshots: the
kill-switch badge turns from green to red, the P&L chart has a line, the page is not
blank. It also checks what a new user saw missing: order columns (time, direction,
stake, expiry, p̂), open orders listed first, table headers on one line, the chart's
axes (times and values), the empty alarms state, and a favicon instead of a 404.
The full-page screenshot goes to ``MOONLIGHT_SCREENSHOTS/dashboard`` when set (the
docs' picture), else the test's temporary directory.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.console.support import CHROMIUM_FLAGS, screenshot_dir
from tests.server.png import count_near, read_png
from tests.server.support import LiveServer, load, write_config

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="chromium / playwright not installed")
expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and shutil.which("chromium") is None,
        reason="chromium / playwright not installed",
    ),
]

GREEN = (63, 185, 80)  # --ok
RED = (248, 81, 73)  # --bad
BACKGROUND = (11, 15, 20)  # the chart's background
WAIT_MS = 60_000


def _chromium() -> str:
    return str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))


@pytest.fixture
def live(tmp_path: Path, host) -> Any:
    config = load(write_config(tmp_path, drop_guards=("consecutive_losses",)), host)
    with LiveServer(config, host, speed=30) as server:
        yield server


def test_dashboard_live_orders_and_kill_switch(live: LiveServer, tmp_path: Path) -> None:
    assert live.handle is not None and live.engine is not None
    context = live.handle.context

    async def new_code() -> str:
        return context.auth.issue_login_code()

    code = live.call(new_code)
    frames: list[dict[str, Any]] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            missing: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
            page.on(
                "websocket",
                lambda ws: ws.on(
                    "framereceived",
                    lambda payload: (
                        frames.append(json.loads(payload)) if isinstance(payload, str) else None
                    ),
                ),
            )
            page.goto(f"{live.base_url}/login#{code}")
            page.wait_for_url(f"{live.base_url}/", timeout=WAIT_MS)
            assert "#" not in page.url and code not in page.url
            # locator assertions run in Playwright's isolated world: the page's strict
            # CSP (no eval) stays in force for the dashboard's own scripts
            expect(page.locator("#ws-state")).to_contain_text("connected", timeout=WAIT_MS)
            expect(page.locator("#engine-state")).to_contain_text("running", timeout=WAIT_MS)
            before = read_png(page.locator("#kill-state").screenshot())
            assert count_near(before, GREEN, 40) > 20 and count_near(before, RED, 40) == 0

            # live orders: an order event arrives on the WebSocket and its row appears
            page.locator("#orders-table tbody tr").first.wait_for(timeout=WAIT_MS)
            live_ids = _wait_for_live_order_rows(page, frames)
            assert live_ids
            _check_layout_and_columns(page)

            # the kill-switch, with its confirmation dialog
            page.click("#kill-button")
            assert page.locator("#confirm-dialog").is_visible()
            page.fill("#confirm-operator", "ann")
            page.fill("#confirm-reason", "browser drill")
            page.click("#confirm-ok")
            expect(page.locator("#kill-state")).to_contain_text("ENGAGED", timeout=WAIT_MS)
            page.wait_for_selector("#rearm-button:not(.hidden)", timeout=WAIT_MS)
            after = read_png(page.locator("#kill-state").screenshot())
            assert count_near(after, RED, 40) > 20 and count_near(after, GREEN, 40) == 0
            text = page.inner_text("body")
            assert page.locator("#alarms-empty").is_hidden()  # the kill-switch alarm
            shot = screenshot_dir(tmp_path, "dashboard") / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            chart = read_png(page.locator("#pnl-chart").screenshot())
            favicon = page.request.get(f"{live.base_url}/favicon.ico")
            assert favicon.status == 200 and favicon.body()[:4] == b"\x00\x00\x01\x00"
            assert not errors, errors
            assert not missing, missing
        finally:
            browser.close()

    engagement = live.engine.risk.kill_switch.engagement(None)
    assert engagement is not None and engagement.by == "ann"
    assert engagement.reason == "browser drill"
    assert "kill-switch ENGAGED by ann" in text
    assert "paper-1" in text and "Workers" in text and "Alarms" in text
    assert "kill_switch" in text  # the alarm reached the feed
    image = read_png(shot.read_bytes())
    assert image.shape[0] >= 1000 and image.shape[1] == 1400
    assert image[..., :3].std() > 10  # not a blank page
    assert count_near(image, RED, 40) > 20
    chart_pixels = image.shape[0] * image.shape[1]
    assert chart_pixels > 0
    line = chart.shape[0] * chart.shape[1] - count_near(chart, BACKGROUND, 12)
    assert line > 100  # the cumulative P&L line was drawn


def _wait_for_live_order_rows(page: Any, frames: list[dict[str, Any]]) -> set[str]:
    """Ids of orders that arrived on the WebSocket and are shown in the table."""
    for _ in range(600):
        streamed = {
            f["data"]["client_req_id"]
            for f in frames
            if f.get("type") in ("decision", "order_state", "result")
        }
        rows = page.locator("#orders-table tbody tr").all()
        shown = {row.get_attribute("data-order") for row in rows}
        if streamed & shown:
            return streamed & shown
        page.wait_for_timeout(100)
    return set()


def _check_layout_and_columns(page: Any) -> None:
    """Order columns, open orders first, one-line headers, chart axes, alarms state."""
    headers = page.locator("#orders-table thead th").all_inner_texts()
    for column in ("time", "direction", "stake", "expiry", "p\u0302", "state", "P&L"):
        assert column in headers, headers
    states = [
        row.locator("td").nth(7).inner_text()
        for row in page.locator("#orders-table tbody tr").all()
    ]
    open_states = {"IDLE", "PREPARE", "SEND", "CONFIRM"}
    first_closed = next((i for i, s in enumerate(states) if s not in open_states), len(states))
    assert all(s not in open_states for s in states[first_closed:]), states
    for cell in page.locator("#accounts-table th, #orders-table th").all():
        box = cell.bounding_box()
        assert box is not None and box["height"] < 30, cell.inner_text()  # one line
    # the alarms panel says so when it is empty, and hides that once alarms exist
    empty = page.locator("#alarms-empty").is_visible()
    assert empty == (page.locator("#alarms-feed li").count() == 0)
    expect(page.locator("#pnl-chart")).to_have_attribute(
        "aria-label",
        re.compile(r"cumulative P&L [+-]?[\d,.]+ \w+ from \d\d:\d\d(:\d\d)? to \d\d:\d\d"),
        timeout=WAIT_MS,
    )
