"""SIGKILL between an instant's settlements and its group commit, restart, and check
that storage ends up equal to the broker's book.

The results of an instant are staged and written together after the decisions
(``storage/group_commit.py``); the claim that this loses nothing rests on start-up
reconciliation deriving them again from the broker. Here the broker is the paper broker,
whose book (``paper_contracts``) lives in the same SQLite file: the child
(``group_commit_child.py``) opens several orders that expire together, the paper broker
settles them in its book, the executor stages their results -- and the process is killed
inside the flush, before its COMMIT. A second process reconciles.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from moonlight.core.orders import OrderState
from moonlight.core.storage.engine import create_storage_engine, session_factory
from moonlight.core.storage.models import Order, PaperContract, Result
from tests.execution.support import kill_at_marker, stored_orders

CHILD = Path(__file__).with_name("group_commit_child.py")
ORDERS = 6  # group_commit_child.ORDERS

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only"),
]


def _argv(mode: str, tmp: Path) -> list[str]:
    markers = tmp / "markers"
    markers.mkdir(exist_ok=True)
    return [sys.executable, str(CHILD), mode, str(tmp / "moonlight.db"), str(markers)]


def _books(tmp: Path) -> tuple[dict[str, Order], dict[str, Result], dict[str, PaperContract]]:
    orders, results = stored_orders(tmp / "moonlight.db")
    engine = create_storage_engine(f"sqlite:///{tmp / 'moonlight.db'}")
    try:
        with session_factory(engine)() as session:
            contracts = {c.client_req_id: c for c in session.scalars(select(PaperContract))}
    finally:
        engine.dispose()
    return orders, results, contracts


def test_a_kill_before_the_group_commit_loses_no_result(tmp_path: Path) -> None:
    kill_at_marker(_argv("run", tmp_path), tmp_path / "markers" / "staged", tmp_path / "run.log")

    # Killed between: the broker's book holds the results that were staged, storage
    # none of them (the orders are still CONFIRM).
    staged = int((tmp_path / "markers" / "staged").read_text(encoding="utf-8"))
    orders, results, contracts = _books(tmp_path)
    assert len(contracts) == ORDERS
    assert set(orders) == set(contracts)
    assert staged == sum(c.outcome is not None for c in contracts.values()) >= 1
    assert all(o.state is OrderState.CONFIRM for o in orders.values())
    assert results == {}

    done = subprocess.run(_argv("recover", tmp_path), capture_output=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert sorted(report["settled"] + report["resumed"]) == sorted(contracts)
    assert report["failed"] == []

    # Storage now equals the broker's book, order by order.
    orders, results, contracts = _books(tmp_path)
    assert set(results) == set(contracts)
    for cid, contract in contracts.items():
        assert orders[cid].state is OrderState.SETTLED
        assert orders[cid].broker_order_id == contract.broker_order_id
        assert results[cid].outcome is contract.outcome
        assert results[cid].pnl == pytest.approx(float(contract.pnl or 0.0))
        assert results[cid].exit_price == contract.exit_price
