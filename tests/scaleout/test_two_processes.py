"""Scale-out: two real engine processes share one PostgreSQL store, one account each.

Both run ``moonlight run`` on the same configuration file; the environment gives each
its ``runtime.accounts`` (and its own API port and data directory). While they trade
5-second bars on paper, a third process asking for an account the first one holds must
be refused with a clear error and exit 1. After both stop gracefully (SIGTERM), storage
must equal the paper books: every order that reached the broker is in the book of its
own account, every contract in the book has its order, no client id twice, settled
results equal, and each account's orders were placed by its own process only.

Needs ``MOONLIGHT_TEST_PG_URL`` (skipped without it); POSIX only (graceful stop by
SIGTERM -- Windows has no SIGTERM for a child process).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

ACCOUNTS = ("east", "west")
ORDERS_EACH = 3
DEADLINE_S = 240.0

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(sys.platform == "win32", reason="graceful stop needs SIGTERM (POSIX)"),
]


def write_config(folder: Path, url: URL) -> Path:
    market = {"seed": 3, "payout_pct": 85.0, "durations_s": [5, 15, 60]}
    accounts = [{"id": name, "connector": "paper", "mode": "paper",
                 "products": ["EURUSD", "BTCUSD"], "timeframes": ["5s"], "max_stake": 5.0,
                 "connector_options": {"starting_balance": 1000.0, "market": market}}
                for name in ACCOUNTS]  # fmt: skip
    data = {
        "storage": {"url": url.render_as_string(hide_password=False)},
        "accounts": accounts,
        "strategies": [{"name": "ema_rsi"}, {"name": "bollinger_reversion"}],
        "ensemble": {"paper_prior": {"a": -2.5}},
        "risk": {"threshold": 0.5, "margin": 0.0,
                 "sizing": {"policy": "fixed", "params": {"stake_amount": 1}},
                 "guards": [{"name": "kill_switch"}]},
        "runtime": {"settle_delay_s": 0.2},
        "telemetry": {"log_level": "INFO"},
    }  # fmt: skip
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(config: Path, folder: Path, accounts: list[str]) -> subprocess.Popen[str]:
    """``moonlight run CONFIG`` for ``accounts`` only, in a process of its own."""
    env = dict(os.environ)
    env.update(
        MOONLIGHT_RUNTIME__ACCOUNTS=json.dumps(accounts),
        MOONLIGHT_SERVER__PORT=str(free_port()),
        MOONLIGHT_DATA_DIR=str(folder),
    )
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "moonlight.core.cli.app", "run", str(config)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def orders_by_account(url: URL) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            exists = connection.execute(text("SELECT to_regclass('orders')")).scalar()
            if exists is None:
                return {}
            rows = connection.execute(
                text(
                    "SELECT account_id, count(*) FROM orders o JOIN results r"
                    " ON r.order_id = o.id GROUP BY account_id"
                )
            ).all()
        return {account: int(count) for account, count in rows}
    finally:
        engine.dispose()


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return int(process.returncode), err


def test_two_processes_share_one_store_without_duplicate_or_lost_orders(
    pg_database: URL, tmp_path: Path
) -> None:
    database = pg_database
    config = write_config(tmp_path, database)
    east = start(config, tmp_path / "east", ["east"])
    west = start(config, tmp_path / "west", ["west"])
    processes = [east, west]
    try:
        deadline = time.monotonic() + DEADLINE_S
        settled: dict[str, int] = {}
        while time.monotonic() < deadline:
            for process in processes:
                assert process.poll() is None, process.communicate()[1][-3000:]
            settled = orders_by_account(database)
            if all(settled.get(name, 0) >= ORDERS_EACH for name in ACCOUNTS):
                break
            time.sleep(1.0)
        assert all(settled.get(name, 0) >= ORDERS_EACH for name in ACCOUNTS), settled

        intruder = start(config, tmp_path / "intruder", ["west", "east"])
        code, err = stop_after_exit(intruder)
        assert code == 1, err[-3000:]
        assert "already run by another engine process" in err
    finally:
        outcomes = [stop(process) for process in processes]
    for code, err in outcomes:
        assert code == 0, err[-3000:]
    check_storage_equals_paper_books(database)


def stop_after_exit(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for a process expected to exit on its own (generous bound), else stop it."""
    try:
        _, err = process.communicate(timeout=120)
        return int(process.returncode), err
    except subprocess.TimeoutExpired:
        return stop(process)


def check_storage_equals_paper_books(url: URL) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            orders = connection.execute(
                text(
                    "SELECT o.client_req_id, o.account_id, o.broker_order_id, r.pnl"
                    " FROM orders o LEFT JOIN results r ON r.order_id = o.id"
                )
            ).all()
            contracts = connection.execute(
                text("SELECT client_req_id, account_id, broker_order_id, pnl FROM paper_contracts")
            ).all()
    finally:
        engine.dispose()
    client_ids = [row.client_req_id for row in orders]
    assert len(client_ids) == len(set(client_ids)), "an order stored twice"
    for row in orders:  # client ids are <account>:<instrument>:<timeframe>:<bar close>
        assert row.client_req_id.split(":")[0] == row.account_id
    sent = {row.client_req_id: row for row in orders if row.broker_order_id is not None}
    book = {row.client_req_id: row for row in contracts}
    assert set(sent) == set(book), {
        "stored, not in the book": sorted(set(sent) - set(book)),
        "in the book, not stored": sorted(set(book) - set(sent)),
    }
    for client_id, contract in book.items():
        order = sent[client_id]
        assert (order.account_id, order.broker_order_id) == (
            contract.account_id,
            contract.broker_order_id,
        )
        if order.pnl is not None:
            assert contract.pnl is not None and abs(order.pnl - contract.pnl) < 1e-9
    assert {row.account_id for row in contracts} == set(ACCOUNTS)
