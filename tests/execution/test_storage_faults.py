"""Storage faults: trading stops with a critical alarm, nothing is sent unrecorded, and
everything in flight is recorded once storage is back.

In-process tests inject SQLite's own "database or disk is full" error at the driver
layer for every write while a switch is on (``sqlite3.OperationalError``, what SQLite
raises on ENOSPC), so the whole path — SQLAlchemy wrapping, classification, executor
reaction — is the production one. Where Linux lets the test mount a tmpfs in a private
mount namespace, a child process also runs on a genuinely full 2 MB filesystem.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from moonlight.core.events import AlarmLevel, OrderStateChanged
from moonlight.core.execution.executor import HOOK_ALARM, HOOK_STATE_CHANGED, TradingHalted
from moonlight.core.orders import OrderState
from tests.execution.support import START_TS, Harness, intent, make_harness

_WRITES = ("INSERT", "UPDATE", "DELETE")


class DiskFull:
    """Makes every write on ``engine`` fail like a full disk while ``on`` is True."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.failed_writes = 0
        event.listen(engine, "before_cursor_execute", self._check)

    def _check(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on and statement.lstrip().upper().startswith(_WRITES):
            self.failed_writes += 1
            raise sqlite3.OperationalError("database or disk is full")


async def _until(h: Harness, predicate: Any, limit_s: float = 600.0) -> None:
    """Let simulated time pass until ``predicate()`` holds (bounded)."""
    deadline = h.clock.now() + limit_s
    while not predicate():
        assert h.clock.now() < deadline, "condition not reached in simulated time"
        await h.clock.sleep_until(h.clock.now() + 0.5)


async def test_disk_full_stops_trading_and_loses_nothing(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    disk = DiskFull(h.engine)
    try:
        # An order accepted by the broker before the disk fills: its result must survive.
        in_flight = h.executor.submit(intent("accepted", duration_s=60))
        await _until(h, lambda: h.mock.placements("accepted") == 1)
        disk.on = True

        # New decisions are refused: nothing stored, nothing sent.
        await h.clock.sleep_until(START_TS + 70)  # past expiry: the settlement write fails
        assert not h.executor.trading_allowed
        assert not h.executor.storage_healthy
        with pytest.raises(TradingHalted):
            await h.executor.execute(intent("refused"))
        assert h.mock.placements("refused") == 0
        alarms = h.events.of(HOOK_ALARM)
        assert [(a.level, a.code) for a in alarms] == [(AlarmLevel.CRITICAL, "storage_unavailable")]
        assert "disk_full" in alarms[0].message
        assert not in_flight.done()  # still trying to record the result
        assert disk.failed_writes >= 2  # retried, not given up

        # The disk is freed: the result is recorded exactly as the broker settled it.
        disk.on = False
        report = await in_flight
        broker = h.mock.all_orders()[0]
        assert broker.settlement is not None
        assert report.state is OrderState.SETTLED
        assert h.results()["accepted"].outcome is broker.settlement.outcome
        assert h.results()["accepted"].pnl == pytest.approx(broker.settlement.pnl)
        assert "storage_recovered" in [a.code for a in h.events.of(HOOK_ALARM)]
        # The alarm raised while the disk was full is stored once it is not.
        assert [a.code for a in h.alarms()] == ["storage_unavailable", "storage_recovered"]

        # Trading stays halted until an operator resumes it.
        assert not h.executor.trading_allowed
        h.executor.resume_trading()
        assert (await h.executor.execute(intent("after"))).state is OrderState.SETTLED
        assert set(h.orders()) == {"accepted", "after"}
        assert {o.client_req_id for o in h.mock.all_orders()} == {"accepted", "after"}
    finally:
        disk.on = False
        await h.close()


async def test_an_unrecordable_send_is_never_sent(tmp_path: Path) -> None:
    h = await make_harness(tmp_path / "db.sqlite")
    disk = DiskFull(h.engine)

    def fill_disk_after_prepare(hook_name: str, **kwargs: Any) -> int:
        h.events(hook_name, **kwargs)
        event_ = kwargs["event"]
        if isinstance(event_, OrderStateChanged) and event_.to_state == "PREPARE":
            disk.on = True  # the PREPARE -> SEND write will fail
        return 0

    h.executor._notify = fill_disk_after_prepare
    try:
        task = h.executor.submit(intent("unsent"))
        await h.clock.sleep_until(START_TS + 30)
        assert not task.done()  # waits to record FAILED
        assert h.mock.calls.get("place_order", 0) == 0
        disk.on = False
        report = await task
        assert report.state is OrderState.FAILED
        assert "storage unavailable before send" in (report.reason or "")
        assert h.orders()["unsent"].state is OrderState.FAILED
        assert h.mock.placements("unsent") == 0
        moves = [(e.from_state, e.to_state) for e in h.events.of(HOOK_STATE_CHANGED)]
        assert moves == [("IDLE", "PREPARE"), ("PREPARE", "FAILED")]
    finally:
        disk.on = False
        await h.close()


async def test_storage_recovery_can_resume_trading_automatically(tmp_path: Path) -> None:
    from tests.execution.support import fast_config

    h = await make_harness(
        tmp_path / "db.sqlite", config=fast_config(resume_after_storage_recovery=True)
    )
    disk = DiskFull(h.engine)
    try:
        task = h.executor.submit(intent("a", duration_s=15))
        await _until(h, lambda: h.mock.placements("a") == 1)
        disk.on = True
        await h.clock.sleep_until(START_TS + 25)
        assert not h.executor.trading_allowed
        disk.on = False
        await task
        assert h.executor.trading_allowed
    finally:
        disk.on = False
        await h.close()


def _can_mount_tmpfs(directory: Path) -> bool:
    """True when a private mount namespace with a tmpfs can be created here (Linux root)."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{directory}'"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.subprocess
def test_a_really_full_filesystem_stops_trading_and_loses_nothing(tmp_path: Path) -> None:
    """The database on a 2 MB tmpfs that is filled to the last byte: real ENOSPC."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    if not _can_mount_tmpfs(mountpoint):
        pytest.skip("tmpfs mount unavailable here: needs Linux, unshare and root")
    child = Path(__file__).with_name("diskfull_child.py")
    script = (
        f"mount -t tmpfs -o size=2m tmpfs '{mountpoint}'"
        f" && exec '{sys.executable}' '{child}' '{mountpoint}'"
    )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    seen = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert seen["filler_bytes"] > 0
    assert seen["halted_reason"] == "storage unavailable (disk_full)"
    assert seen["first_done_while_full"] is False  # still retrying to record its result
    assert seen["refused"].startswith("halted") and seen["refused_placements"] == 0
    assert seen["alarms_while_full"] == ["storage_unavailable"]
    assert seen["first_state"] == seen["stored_state"] == "SETTLED"
    assert seen["first_outcome"] == seen["broker_outcome"]
    assert seen["stored_refused"] is False
    assert seen["alarms"] == ["storage_unavailable", "storage_recovered"]
