"""The console's browser build in Debian chromium, operating a real engine.

One ``moonlight run`` child process (paper, simulated time 10× real) and one
``moonlight-console --web`` child process, one browser: the test signs in with the
one-time link the engine printed, then walks every screen as an operator would and
checks each against live data from the engine's own API -- orders arriving, a worker
paused, the kill switch pulled and re-armed, its alarm read, the P&L chart and the
calibration drawn from stored results, invalid overrides refused with the server's
reasons. Last, the engine is stopped: the console says its data is stale; the engine
is started again: after signing in with the token the console is live again.

Cost: one engine, one console, one browser for the module; about a minute and a half
on two busy cores. Screenshots of every screen are saved (the docs' pictures come
from here: ``MOONLIGHT_SCREENSHOTS=docs/assets/screenshots``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.console.flutter import (
    all_text,
    fill_and_press_until,
    navigate,
    open_app,
    press_until,
    snap,
    text,
    type_into,
)
from tests.console.support import (
    ConsoleProcess,
    EngineProcess,
    chromium_path,
    free_port,
    launch_chromium,
    paper_config,
    screenshot_dir,
)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.subprocess,
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed"),
]

SPEED = 10.0
OPERATOR = "ann"
WORKER = "paper-1/EURUSD/15s"
# Guards that would stop a losing paper strategy within the test (the daily loss cap,
# the losing streak): without them orders keep flowing for every screen to show.
DROPPED_GUARDS = ("daily_loss_cap", "consecutive_losses")


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    port = free_port()
    config = paper_config(tmp_path, port, drop_guards=DROPPED_GUARDS)
    process = EngineProcess(config, port, speed=SPEED, log=tmp_path / "engine.log")
    yield process
    process.stop()


def test_console_operates_a_live_engine(engine: EngineProcess, tmp_path: Path) -> None:
    shots = screenshot_dir(tmp_path, "console")
    console = ConsoleProcess(engine.base_url, log=tmp_path / "console.log")
    try:
        with sync_api.sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                _drive(page, engine, console.url, shots)
            finally:
                browser.close()
    finally:
        console.stop(15)  # SIGTERM


def _drive(page: Any, engine: EngineProcess, url: str, shots: Path) -> None:
    # ---------------------------------------------------------------- sign in
    open_app(page, url)
    text(page, "Sign in to a MoonLight server")
    snap(page, shots / "sign-in.png")
    type_into(page, "Login link or API token", engine.login_link)
    type_into(page, "Your name (recorded with every change)", OPERATOR)
    press_until(page, "Sign in", "Guard restrictions", exact=True)

    # ---------------------------------------------------------------- overview
    text(page, re.compile(r"^paper-1: (ACTIVE|REDUCING)$"))
    guards = ", ".join(engine.api("/status")["guards"])
    text(page, f"Guards, in check order: {guards}")
    text(page, re.compile(r"^\d{1,3}(,\d{3})*\.\d\d USD$"))  # the balance column
    _wait_until_live(page)
    snap(page, shots / "overview.png")

    # ---------------------------------------------------------------- orders, live
    navigate(page, "Orders")
    text(page, re.compile(r"^\d+ orders match, \d+ open"))
    newest = _newest_order_after(engine, time.monotonic())
    text(page, newest["created_at"][11:19])  # an order decided after the screen opened
    for column in ("time", "direction", "stake", "expiry", "p-hat", "outcome", "P&L"):
        assert page.get_by_role("columnheader", name=column, exact=True).count() == 1
    assert re.search(r"^\d\d\.\d %$", all_text(page), re.MULTILINE)  # p-hat
    snap(page, shots / "orders.png")

    # ---------------------------------------------------------------- workers
    navigate(page, "Workers")
    press_until(page, f"Pause {WORKER}", f"Pause {WORKER}?", exact=True)
    press_until(page, "Pause", f"Resume {WORKER}", exact=True)
    paused = {w["label"]: w["paused"] for w in engine.api("/workers")}
    assert paused[WORKER] is True
    assert sum(paused.values()) == 1
    snap(page, shots / "workers.png")

    # ---------------------------------------------------------------- kill switch
    navigate(page, "Kill switch")
    text(page, "Kill switch armed: trading is allowed")
    press_until(page, "Engage kill switch", "Stop ALL trading now?")
    type_into(page, "Reason", "browser drill")
    press_until(page, "Engage", f"Kill switch ENGAGED by {OPERATOR}", exact=True)
    engaged = engine.api("/kill-switch")["global_engagement"]
    assert engaged["by"] == OPERATOR and engaged["reason"] == "browser drill"
    snap(page, shots / "kill-switch.png")

    # ---------------------------------------------------------------- alarms
    navigate(page, "Alarms")
    text(page, re.compile(rf"kill-switch engaged globally by {OPERATOR}: browser drill"))
    alarms = engine.api("/alarms")["items"]
    assert any(a["code"] == "kill_switch" for a in alarms)
    snap(page, shots / "alarms.png")

    # ---------------------------------------------------------------- re-arm
    press_until(page, "Re-arm", "Allow trading again?", exact=True)
    # the dialog's button (the header's is behind it)
    press_until(page, "Re-arm", "kill switch armed", exact=True)
    assert engine.api("/kill-switch")["global_engagement"] is None
    text(page, re.compile(rf"re-armed by {OPERATOR}"))

    # ---------------------------------------------------------------- P&L
    navigate(page, "P&L")
    caption = text(page, re.compile(r"^cumulative P&L [+-]?[\d,.]+ USD over \d+ results"))
    results = int(re.search(r"over (\d+) results", caption.inner_text()).group(1))
    assert results >= 1
    assert engine.api("/results?limit=1")["total"] >= results
    # time axis: HH:MM, or HH:MM:SS when the results span less than a few minutes
    assert len(re.findall(r"^\d\d:\d\d(:\d\d)?$", all_text(page), re.MULTILINE)) >= 2
    snap(page, shots / "pnl.png")

    # ---------------------------------------------------------------- calibration
    navigate(page, "Calibration")
    text(page, re.compile(r"^all: ECE 0\.\d{3} over \d+ orders$"))
    calibration = engine.api("/calibration")
    for row in calibration["instruments"]:
        text(page, row["instrument"])
    snap(page, shots / "calibration.png")

    # ---------------------------------------------------------------- settings
    navigate(page, "Settings")
    text(page, "Configuration in force (secrets redacted)")
    text(page, "no overrides set")  # loaded: typing now is not overwritten
    fill_and_press_until(
        page, {"Runtime overrides (YAML, a partial configuration)": "risk:\n  threshold: 7\n"},
        "Validate and save", re.compile(r"^overrides\.risk\.threshold: "), exact=False,
    )  # fmt: skip
    assert engine.api("/overrides")["overrides"] == {}
    snap(page, shots / "settings.png")
    fill_and_press_until(
        page, {"Runtime overrides (YAML, a partial configuration)": "risk:\n  threshold: 0.6\n"},
        "Validate and save", "Saved: the overrides apply at the next start.", exact=False,
    )  # fmt: skip
    assert engine.api("/overrides")["overrides"] == {"risk": {"threshold": 0.6}}

    # ---------------------------------------------------------------- stale, then back
    navigate(page, "Overview")
    assert engine.stop() == 0
    text(page, re.compile(r"^Data may be stale"))
    snap(page, shots / "stale.png")
    restarted = EngineProcess(engine.config, _port(engine), speed=SPEED, log=engine.log)
    try:
        text(page, "The server ended the session: sign in again.")
        fill_and_press_until(
            page, {"Login link or API token": restarted.token}, "Sign in", "Guard restrictions"
        )
        text(page, re.compile(r"^paper-1: (ACTIVE|REDUCING|HALTED)$"))
        _wait_until_live(page)
    finally:
        restarted.stop()


def _wait_until_live(page: Any) -> None:
    """The connection panel says both channels are up and no stale-data banner shows."""
    text(page, re.compile(r"^last status (just now|\d+ s ago)$"))
    text(page, "connected")
    deadline = time.monotonic() + 60
    while page.get_by_text(re.compile(r"^Data may be stale")).count():
        assert time.monotonic() < deadline, "the stale-data banner stayed"
        page.wait_for_timeout(250)


def _newest_order_after(engine: EngineProcess, since: float) -> dict[str, Any]:
    """An order the engine stores after ``since`` (monotonic): polls its API, bounded."""
    first = engine.api("/orders?limit=1")["items"]
    before = first[0]["client_req_id"] if first else None
    deadline = since + 60
    while time.monotonic() < deadline:
        items = engine.api("/orders?limit=1")["items"]
        if items and items[0]["client_req_id"] != before:
            return dict(items[0])
        time.sleep(0.2)
    raise AssertionError("the engine decided no new order within 60 s")


def _port(engine: EngineProcess) -> int:
    return int(engine.base_url.rsplit(":", 1)[1])
