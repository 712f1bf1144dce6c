"""SIGKILL the executor during SEND and during CONFIRM, restart it, and check that
reconciliation leaves no orphan, no duplicate and the right outcome recorded.

The executor runs in a child process (``killable.py``) on the wall clock, with the mock
broker's book in a JSON file and the orders in SQLite, so both outlive the kill. The
child pauses deterministically — a marker file written at the exact point, then a hang
— and the test kills it there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moonlight.core.connectors.mock import MockConnector
from moonlight.core.orders import OrderState
from moonlight.core.storage.models import Order, Result
from tests.execution.support import kill_at_marker, stored_orders

CHILD = Path(__file__).with_name("killable.py")
MARKER_WAIT_S = 60.0
RECOVER_TIMEOUT_S = 90.0

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only"),
]


def _args(mode: str, tmp: Path, pause: str) -> list[str]:
    markers = tmp / "markers"
    markers.mkdir(exist_ok=True)
    return [
        sys.executable,
        str(CHILD),
        mode,
        str(tmp / "orders.db"),
        str(tmp / "broker.json"),
        str(markers),
        pause,
    ]


def _run_until_paused_then_kill(tmp: Path, pause: str) -> None:
    kill_at_marker(
        _args("run", tmp, pause), tmp / "markers" / "paused", tmp / "child.log",
        wait_s=MARKER_WAIT_S,
    )  # fmt: skip


def _recover(tmp: Path) -> dict[str, list[str]]:
    done = subprocess.run(
        _args("recover", tmp, "none"),
        capture_output=True,
        timeout=RECOVER_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report: dict[str, list[str]] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return report


def _stored(tmp: Path) -> tuple[dict[str, Order], dict[str, Result]]:
    return stored_orders(tmp / "orders.db")


def _broker(tmp: Path) -> MockConnector:
    return MockConnector(seed=11, history_s=120.0, state_path=tmp / "broker.json")


def _assert_agreement(tmp: Path) -> None:
    """No orphan, no duplicate, the broker's outcome recorded, everything terminal."""
    orders, results = _stored(tmp)
    broker = _broker(tmp).all_orders()
    assert len({o.client_req_id for o in broker}) == len(broker), "duplicate at the broker"
    for at_broker in broker:
        stored = orders.get(at_broker.client_req_id or "")
        assert stored is not None, f"orphan {at_broker.broker_order_id}"
        assert stored.state is OrderState.SETTLED
        assert stored.broker_order_id == at_broker.broker_order_id
        assert at_broker.settlement is not None
        result = results[stored.client_req_id]
        assert result.outcome is at_broker.settlement.outcome
        assert result.pnl == pytest.approx(at_broker.settlement.pnl)
    assert all(o.state in (OrderState.SETTLED, OrderState.FAILED) for o in orders.values())


def test_kill_during_send_before_the_broker_accepted(tmp_path: Path) -> None:
    _run_until_paused_then_kill(tmp_path, "send-before-accept")
    orders, _ = _stored(tmp_path)
    assert orders["crash-1"].state is OrderState.SEND
    assert _broker(tmp_path).placements("crash-1") == 0

    report = _recover(tmp_path)
    assert report["failed"] == ["crash-1"]
    orders, results = _stored(tmp_path)
    assert orders["crash-1"].state is OrderState.FAILED
    assert results["crash-1"].pnl == 0.0
    assert _broker(tmp_path).placements("crash-1") == 0  # never re-sent
    _assert_agreement(tmp_path)


def test_kill_during_send_after_the_broker_accepted(tmp_path: Path) -> None:
    _run_until_paused_then_kill(tmp_path, "send-after-accept")
    orders, _ = _stored(tmp_path)
    assert orders["crash-1"].state is OrderState.SEND  # the ack never came back
    assert _broker(tmp_path).placements("crash-1") == 1

    report = _recover(tmp_path)
    assert report["resumed"] + report["settled"] == ["crash-1"]
    assert _broker(tmp_path).placements("crash-1") == 1  # found, not re-sent
    _assert_agreement(tmp_path)


def test_kill_during_confirm(tmp_path: Path) -> None:
    _run_until_paused_then_kill(tmp_path, "confirm")
    orders, _ = _stored(tmp_path)
    assert orders["crash-1"].state is OrderState.CONFIRM
    assert orders["crash-1"].broker_order_id is not None

    report = _recover(tmp_path)
    assert report["resumed"] + report["settled"] == ["crash-1"]
    assert report["adopted"] == [] and report["drift"] == []
    _assert_agreement(tmp_path)
