"""Finding 14.9: after a storage halt, trading resumes through the API and the CLI —
audited and alarmed like the kill switch — and ``/status`` tells the truth meanwhile.

The real engine trades paper on a fast-forward clock; a full disk is injected at the
SQLite driver (every write fails while it is on), which halts the executor the way a
real one does (``tests/chaos/test_storage_faults.py`` covers the books).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from moonlight.core.cli.app import cli
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.control import RESUME_AUDIT_ACTION, EngineControl
from moonlight.core.runtime.engine import Engine
from moonlight.core.storage import models
from moonlight.server.app import create_app
from tests.chaos.test_storage_faults import DiskFull
from tests.server.support import (
    START,
    api_client,
    load,
    running_engine,
    serving,
    token_of,
    write_config,
)

ACCOUNT = "paper-1"


def orders_after(engine: Engine, moment: float) -> int:
    with engine.sessions() as session:
        statement = select(func.count()).select_from(models.Order)
        since = datetime.fromtimestamp(moment, UTC)
        return int(session.scalar(statement.where(models.Order.created_at > since)) or 0)


async def halt_on_a_full_disk(engine: Engine, clock: FastForwardClock) -> DiskFull:
    """Trade until orders are in flight, fill the disk until the account halts, free it,
    and let an in-flight order's write prove storage healthy again (still halted)."""
    executor = engine.accounts[ACCOUNT].executor
    disk = DiskFull(engine)
    await clock.sleep_until(START + 5 * 60 + 20)
    disk.on = True
    for _ in range(600):
        if not executor.trading_allowed:
            break
        await clock.sleep_until(clock.now() + 1)
    assert executor.halted_reason == "storage unavailable (disk_full)"
    return disk


@pytest.fixture
async def halted(tmp_path: Path, host):
    config = load(
        write_config(tmp_path, drop_guards=("consecutive_losses", "daily_loss_cap")), host
    )
    clock = FastForwardClock(START)
    async with running_engine(config, host, clock) as engine:
        disk = await halt_on_a_full_disk(engine, clock)
        try:
            yield engine, clock, disk, config
        finally:
            disk.on = False


async def test_status_says_halted_and_resume_is_audited_and_alarmed(halted) -> None:
    engine, clock, disk, config = halted
    alarms: list = []
    engine.alarms.subscribe(alarms.append)
    app = create_app(EngineControl(engine))
    async with api_client(app, token_of(config)) as client:
        account = (await client.get("/api/v1/status")).json()["accounts"][0]
        assert account["connector"]["trading_allowed"] is False
        assert account["trading_state"] == "HALTED"  # main said ACTIVE here
        (halt,) = [r for r in account["restrictions"] if r["guard"] == "executor"]
        assert halt["reason"] == "storage_unavailable" and "disk_full" in halt["detail"]

        # storage still failing: the resume is refused with the reason, nothing changes
        refused = await client.post("/api/v1/trading/resume", json={"operator": "ann"})
        assert refused.status_code == 409 and "storage is still failing" in refused.json()["detail"]

        disk.on = False
        executor = engine.accounts[ACCOUNT].executor
        for _ in range(900):  # an in-flight order's write succeeds: storage healthy again
            if executor.storage_healthy:
                break
            await clock.sleep_until(clock.now() + 1)
        assert executor.storage_healthy and not executor.trading_allowed  # still halted
        robot = await client.post("/api/v1/trading/resume", json={"operator": "moonlight"})
        assert robot.status_code == 409

        resumed_at = clock.now()
        resumed = await client.post(
            "/api/v1/trading/resume", json={"operator": "ann", "account_id": ACCOUNT}
        )
        assert resumed.status_code == 200
        assert resumed.json() == {"resumed": [ACCOUNT], "refused": {}}
        account = (await client.get("/api/v1/status")).json()["accounts"][0]
        assert account["connector"]["trading_allowed"] is True
        assert account["trading_state"] != "HALTED"
        again = await client.post("/api/v1/trading/resume", json={"operator": "ann"})
        assert again.json() == {"resumed": [], "refused": {}}
        unknown = await client.post(
            "/api/v1/trading/resume", json={"operator": "ann", "account_id": "zz"}
        )
        assert unknown.status_code == 404

    await clock.sleep_until(clock.now() + 3 * 60)
    assert orders_after(engine, resumed_at) > 0  # trading goes on
    with engine.sessions() as session:
        audit = session.scalars(
            select(models.AuditLog).where(models.AuditLog.action == RESUME_AUDIT_ACTION)
        ).all()
    assert [(a.actor, a.detail["accounts"]) for a in audit] == [("ann", [ACCOUNT])]
    resumed_alarms = [a for a in alarms if a.code == "trading_resumed"]
    assert len(resumed_alarms) == 1 and "ann" in resumed_alarms[0].message


async def test_the_cli_resumes_a_running_engine_through_its_api(halted, tmp_path: Path) -> None:
    engine, clock, disk, _ = halted
    disk.on = False
    executor = engine.accounts[ACCOUNT].executor
    for _ in range(900):
        if executor.storage_healthy:
            break
        await clock.sleep_until(clock.now() + 1)
    async with serving(engine) as handle:
        path = tmp_path / "cli.yaml"
        data = yaml.safe_load((tmp_path / "config.yaml").read_text(encoding="utf-8"))
        data["server"]["port"] = handle.port
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        args = ["trading", "resume", str(path), "--operator", "bob"]
        result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    assert f"resumed: {ACCOUNT}" in result.output
    assert executor.trading_allowed


def test_the_cli_says_when_no_engine_answers(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["server"]["port"] = 9  # discard: nothing listens there
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "api-token").write_text("x" * 43, encoding="ascii")
    result = CliRunner().invoke(cli, ["trading", "resume", str(path), "--operator", "bob"])
    assert result.exit_code == 1
    assert "not reachable" in result.output and "moonlight run" in result.output
