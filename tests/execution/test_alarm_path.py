"""One alarm path: the executor only *emits* an alarm; the alarm center logs, redacts
and stores it once. Before, one executor alarm wrote two ``alarms`` rows (one keeping
the account id unredacted) and two log lines."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from moonlight.core.connectors.mock import FaultKind
from moonlight.core.orders import OrderState
from moonlight.core.telemetry.alarms import AlarmCenter, sql_alarm_store
from moonlight.core.telemetry.pii import Redactor
from tests.execution.support import intent, make_harness


async def test_an_executor_alarm_is_one_row_and_one_log_line_without_the_account_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = await make_harness(tmp_path / "db.sqlite", accounts=("acct-7431",))
    redactor = Redactor()
    redactor.register("acct-7431", "account", whole_word=True)
    assert h.events.alarms is not None
    h.events.alarms = AlarmCenter(
        store=sql_alarm_store(h.sessions), clock=h.clock.now, redactor=redactor
    )
    try:
        h.mock.faults.place.append(FaultKind.AUTH)
        with caplog.at_level(logging.INFO):
            report = await h.executor.execute(intent("acct-7431:o-1", account_id="acct-7431"))
        assert report.state is OrderState.FAILED
        rows = [a for a in h.alarms() if a.code == "auth_failed"]
        assert len(rows) == 1
        assert "acct-7431" not in rows[0].message
        lines = [r for r in caplog.records if "auth_failed" in r.getMessage()]
        assert len(lines) == 1
    finally:
        await h.close()
