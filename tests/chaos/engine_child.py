"""The whole engine in a child process, for the kill and real-disk-full scenarios.

Usage (from the repository root): ``python -m tests.chaos.engine_child MODE CONFIG OUT``

* ``kill PAUSE`` — trade on a fast-forward clock from :data:`START`; after 5 minutes,
  at the chosen point of the next order — ``send`` (the broker has accepted it, the
  acknowledgement is not back: the order is stored in SEND) or ``confirm`` (CONFIRM
  stored, waiting for the result) — the kill-switch of the last account is engaged
  (persisted), the child writes ``OUT/paused.json`` (the clock reading, the order) and
  freezes the whole engine (a blocking sleep on its event loop) until it is killed.
* ``recover`` — start a fresh engine on the same database and broker books at the
  time of the kill plus ``DOWNTIME_S``; start-up reconciliation runs before any worker
  trades; trade 3 more minutes, pause the workers, wait until every order is terminal,
  and write ``OUT/recovered.json`` with what it found.
* ``diskfull`` — CONFIG's data_dir is a small filesystem of its own (the parent mounts
  a tmpfs there): trade, fill the filesystem to the last byte, keep trading, free it,
  resume, drain, and write ``OUT/diskfull.json``.

Brokers are MockConnectors (demo mode); in ``kill``/``recover`` their books are JSON
files outside the database, so the broker outlives the killed engine.
"""

from __future__ import annotations

import asyncio
import errno
import json
import sys
import time
from pathlib import Path
from typing import Any

from moonlight.core.config import load_config
from moonlight.core.events import OrderStateChanged
from moonlight.core.execution.executor import TradingHalted
from moonlight.core.plugins import build_plugin_host
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.storage import models
from moonlight.core.telemetry.logging_setup import configure_from_config
from tests.chaos.support import (
    START,
    TERMINAL,
    drain,
    mocks,
    non_terminal,
    start_engine,
    verdict,
)

DOWNTIME_S = 20.0
FREEZE_S = 600.0  # longer than any test waits: the parent kills the child meanwhile
KILL_SWITCH_REASON = "chaos: before the crash"


def _write(out: Path, name: str, data: dict[str, Any]) -> None:
    tmp = out / f"{name}.tmp"
    tmp.write_text(json.dumps(data, sort_keys=True, default=str), encoding="utf-8")
    tmp.replace(out / f"{name}.json")


async def kill(config_path: Path, out: Path, pause: str) -> None:
    host = build_plugin_host()
    clock = FastForwardClock(START)
    engine = await start_engine(config_path, host, clock)
    armed = False

    def freeze(client_req_id: str, state: str) -> None:
        engine.risk.kill_switch.engage(max(engine.accounts), by="ann", reason=KILL_SWITCH_REASON)
        _write(out, "paused", {"now": clock.now(), "client_req_id": client_req_id, "state": state})
        time.sleep(FREEZE_S)  # the whole engine stops here, mid-order

    def on_event(hook_name: str, event: Any) -> None:
        confirmed = isinstance(event, OrderStateChanged) and event.to_state == "CONFIRM"
        if armed and pause == "confirm" and confirmed:
            freeze(event.client_req_id, "CONFIRM")

    def on_broker_event(name: str, client_req_id: str) -> None:
        if armed and pause == "send" and name == "accepted":
            freeze(client_req_id, "SEND")

    engine.subscribe(on_event)
    for broker in mocks(engine).values():
        broker.on_event = on_broker_event
    await clock.sleep_until(START + 5 * 60 + 1)
    armed = True
    await clock.sleep_until(START + 60 * 60)
    raise SystemExit("never paused")


async def recover(config_path: Path, out: Path) -> None:
    paused = json.loads((out / "paused.json").read_text(encoding="utf-8"))
    host = build_plugin_host()
    restart_ts = float(paused["now"]) + DOWNTIME_S
    clock = FastForwardClock(restart_ts)
    started = time.perf_counter()
    engine = await start_engine(config_path, host, clock)
    start_wall_s = time.perf_counter() - started
    open_after_start = non_terminal(engine.sessions)
    with engine.sessions() as session:
        crashed = session.query(models.Order).filter_by(client_req_id=paused["client_req_id"]).one()
        crashed_state_after_start = crashed.state.value
    killed_account = max(engine.accounts)
    engagement = engine.risk.kill_switch.engagement(killed_account)
    await clock.sleep_until(restart_ts + 3 * 60)
    drain_s = await drain(engine)
    found = verdict(engine.sessions, mocks(engine))
    killed_orders_after = [
        c.client_req_id
        for c in mocks(engine)[killed_account].all_orders()
        if c.accepted_ts > restart_ts
    ]
    with engine.sessions() as session:
        crashed = session.query(models.Order).filter_by(client_req_id=paused["client_req_id"]).one()
        crashed_final = crashed.state.value
        crashed_done_ts = (crashed.settled_at or crashed.failed_at).timestamp()
    await engine.stop("test finished")
    _write(
        out,
        "recovered",
        {
            "orders": found.orders,
            "settled": found.settled,
            "failed": found.failed,
            "broker_contracts": found.broker_contracts,
            "duplicates": found.duplicates,
            "lost_results": found.lost_results,
            "problems": found.problems[:20],
            "start_wall_s": start_wall_s,
            "open_after_start": open_after_start,
            "crashed_state_after_start": crashed_state_after_start,
            "crashed_final": crashed_final,
            "crashed_done_after_restart_s": crashed_done_ts - restart_ts,
            "kill_switch_reason": engagement.reason if engagement else None,
            "killed_account_orders_after_restart": killed_orders_after,
            "other_accounts_orders_after_restart": sum(
                1
                for account, broker in mocks(engine).items()
                if account != killed_account
                for c in broker.all_orders()
                if c.accepted_ts > restart_ts
            ),
            "drain_s": drain_s,
            "terminal_states": [s.value for s in TERMINAL],
        },
    )


def _fill(directory: Path) -> int:
    """Write a filler file until the filesystem refuses another byte; returns its size."""
    written = 0
    with open(directory / "filler", "wb", buffering=0) as filler:
        for chunk in (65536, 4096, 512, 1):
            block = b"\0" * chunk
            while True:
                try:
                    filler.write(block)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
                written += chunk
    return written


async def diskfull(config_path: Path, out: Path) -> None:
    host = build_plugin_host()
    config = load_config(config_path, registry=host.registry)
    configure_from_config(config, console=False)  # the log file is on the full disk too
    clock = FastForwardClock(START)
    engine: Engine = await start_engine(config_path, host, clock)
    alarms: list[str] = []
    engine.alarms.subscribe(lambda alarm: alarms.append(alarm.code))
    await clock.sleep_until(START + 5 * 60 + 20)
    full_at = clock.now()
    filler_bytes = _fill(config.data_dir)
    await clock.sleep_until(full_at + 3 * 60)
    halted = {a: r.executor.halted_reason for a, r in engine.accounts.items()}
    open_while_full = non_terminal(engine.sessions)
    placed_while_full = [
        c.client_req_id
        for b in mocks(engine).values()
        for c in b.all_orders()
        if c.accepted_ts > full_at
    ]
    (config.data_dir / "filler").unlink()
    freed_at = clock.now()
    await clock.sleep_until(freed_at + 60)
    resume_refused = []
    for account, runtime in engine.accounts.items():
        if not runtime.executor.trading_allowed:
            try:
                runtime.executor.resume_trading()
            except TradingHalted:  # see test_storage_faults: the halt can outlive the fault
                resume_refused.append(account)
    await clock.sleep_until(clock.now() + 2 * 60)
    resumed = sum(
        1 for b in mocks(engine).values() for c in b.all_orders() if c.accepted_ts > freed_at
    )
    await drain(engine)
    found = verdict(engine.sessions, mocks(engine))
    failures = sum(engine.supervisor.failures.values())
    await engine.stop("test finished")
    _write(
        out,
        "diskfull",
        {
            "filler_bytes": filler_bytes,
            "halted": halted,
            "open_while_full": open_while_full,
            "placed_while_full": placed_while_full,
            "alarms": alarms,
            "resumed": resumed,
            "orders": found.orders,
            "failed": found.failed,
            "duplicates": found.duplicates,
            "lost_results": found.lost_results,
            "problems": found.problems[:20],
            "worker_failures": failures,
            "resume_refused": resume_refused,
        },
    )


def main(argv: list[str]) -> None:
    mode, config_path, out = argv[0], Path(argv[1]), Path(argv[2])
    if mode == "kill":
        asyncio.run(kill(config_path, out, argv[3]))
    elif mode == "recover":
        asyncio.run(recover(config_path, out))
    elif mode == "diskfull":
        asyncio.run(diskfull(config_path, out))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
