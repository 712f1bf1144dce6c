"""SIGKILL of ``moonlight run`` (engine + reference server) mid-order, then a restart.

The child runs the real CLI on the paper example configuration, accelerated, with the
API on 127.0.0.1. Once an order waits for its result, the kill-switch is engaged
through the API (as an operator would) and the process is SIGKILLed. A second
``moonlight run`` on the same data_dir must: serve the API again, report the
kill-switch still engaged, open no new order, settle every order the first run left
unfinished exactly as the paper broker's own book settled it, and never hold two
orders (or two paper contracts) for one client_req_id.
"""

from __future__ import annotations

import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from moonlight.core.orders import OrderState
from moonlight.core.storage.engine import create_storage_engine, session_factory
from moonlight.core.storage.models import Order, PaperContract, Result
from tests.chaos.support import TERMINAL, record_figures
from tests.server.support import write_config

ROOT = Path(__file__).resolve().parents[2]
SPEED = "20"
WAIT_S = 120.0

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:g} s"
        time.sleep(0.2)


@contextmanager
def moonlight_run(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as sink:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.run_child", str(config), SPEED],
            cwd=ROOT,
            stdout=sink,
            stderr=sink,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=30)


def healthy(base_url: str, child: subprocess.Popen[bytes]) -> bool:
    assert child.poll() is None, "moonlight run exited"
    try:
        return httpx.get(f"{base_url}/health", timeout=2, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


class Books:
    """Orders, results and the paper book, read straight from the database file."""

    def __init__(self, database: Path) -> None:
        self.engine = create_storage_engine(f"sqlite:///{database}")
        self.sessions = session_factory(self.engine)

    def states(self) -> dict[str, OrderState]:
        with self.sessions() as session:
            return dict(session.execute(select(Order.client_req_id, Order.state)).all())

    def agreement(self, client_req_ids: list[str]) -> list[str]:
        """Problems: each order settled exactly as its paper contract, nothing doubled."""
        problems = []
        with self.sessions() as session:
            doubled = session.execute(
                select(PaperContract.client_req_id, func.count())
                .group_by(PaperContract.client_req_id)
                .having(func.count() > 1)
            ).all()
            problems += [f"{cid}: {n} paper contracts" for cid, n in doubled]
            for cid in client_req_ids:
                order = session.scalars(select(Order).where(Order.client_req_id == cid)).one()
                contract = session.scalars(
                    select(PaperContract).where(PaperContract.client_req_id == cid)
                ).one_or_none()
                result = session.scalars(
                    select(Result).where(Result.order_id == order.id)
                ).one_or_none()
                if order.state not in TERMINAL:
                    problems.append(f"{cid}: still {order.state}")
                elif contract is None:
                    if order.state is not OrderState.FAILED:
                        problems.append(f"{cid}: {order.state} without a paper contract")
                elif result is None or contract.outcome is None:
                    problems.append(f"{cid}: no result ({contract.outcome})")
                elif (result.outcome, round(result.pnl, 6)) != (
                    contract.outcome,
                    round(contract.pnl or 0.0, 6),
                ):
                    problems.append(
                        f"{cid}: stored {result.outcome}/{result.pnl} but paper"
                        f" book {contract.outcome}/{contract.pnl}"
                    )
        return problems

    def close(self) -> None:
        self.engine.dispose()


def test_installed_server_registers_its_moonlight_entry_point() -> None:
    names = {ep.name for ep in importlib.metadata.entry_points(group="moonlight")}
    assert "server" in names, sorted(names)


def test_sigkill_moonlight_run_mid_order_then_restart(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, drop_guards=("consecutive_losses",))
    config.write_text(
        config.read_text(encoding="utf-8").replace("port: 8765", f"port: {port}"), encoding="utf-8"
    )
    base_url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    log = tmp_path / "children.log"
    books: Books | None = None
    try:
        with moonlight_run(config, log) as first:
            wait_until(lambda: healthy(base_url, first), "API up")
            token = (data_dir / "api-token").read_text(encoding="ascii").strip()
            auth = {"Authorization": f"Bearer {token}"}
            books = Books(data_dir / "moonlight.db")
            wait_until(lambda: OrderState.CONFIRM in books.states().values(), "order in CONFIRM")
            engaged = httpx.post(
                f"{base_url}/api/v1/kill-switch/engage",
                headers=auth,
                trust_env=False,
                json={"operator": "ann", "reason": "chaos: before the crash"},
                timeout=30,  # a loaded machine: the answer may wait for a CPU
            )
            assert engaged.status_code == 200, engaged.text
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
            assert first.returncode == -signal.SIGKILL
        at_kill = books.states()
        unfinished = [cid for cid, state in at_kill.items() if state not in TERMINAL]
        assert unfinished, at_kill

        restarted = time.monotonic()
        with moonlight_run(config, log) as second:
            wait_until(lambda: healthy(base_url, second), "API up again")
            up_s = time.monotonic() - restarted
            state = httpx.get(
                f"{base_url}/api/v1/kill-switch", headers=auth, trust_env=False, timeout=30
            )
            assert state.json()["global_engagement"]["reason"] == "chaos: before the crash"
            wait_until(
                lambda: all(books.states()[cid] in TERMINAL for cid in unfinished),
                "every unfinished order settled after the restart",
            )
            settled_s = time.monotonic() - restarted
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=60) == 0
        after = books.states()
        problems = books.agreement(unfinished)
        record_figures(
            "SIGKILL of `moonlight run` (engine + API) mid-order, restart",
            orders=len(after),
            unfinished_at_kill=len(unfinished),
            problems=problems,
            api_up_after_restart_s=round(up_s, 1),
            unfinished_settled_after_restart_s=round(settled_s, 1),
        )
        assert problems == []
        assert set(after) == set(at_kill)  # kill-switch held: no new order after restart
    finally:
        if books is not None:
            books.close()
