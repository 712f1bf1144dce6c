"""The chaos suite's common ground: an engine trading against mock brokers, and the verdict.

* :func:`write_config` — several accounts in **demo** mode on the ``mock`` connector, so
  every order goes through the executor to a :class:`MockConnector` that the fault
  driver can break (in ``paper`` mode MoonLight's own paper broker would take the
  orders instead). Demo mode refuses the paper prior, so :func:`seed_calibration`
  stores a global Platt fit before the engine starts, exactly what ``moonlight
  calibrate`` leaves behind.
* :func:`drain` — after the faults: clear them, pause every worker, and let simulated
  time run until every order in storage is terminal (bounded).
* :func:`verdict` — the invariants of issue 10 for every account: at most one broker
  contract per client_req_id, every stored order terminal, storage and the broker's
  book agree order by order (broker id, outcome, pnl) and in balance.
* :func:`record_figures` — when ``MOONLIGHT_RELIABILITY_FIGURES`` names a file, each
  scenario appends its measured figures as one JSON line (docs/reliability.md is
  written from them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.config import load_config
from moonlight.core.connectors.mock import MockConnector
from moonlight.core.orders import OrderState
from moonlight.core.plugins import PluginHost
from moonlight.core.risk.guards.circuit_breaker import CircuitBreaker
from moonlight.core.runtime.clock import Clock
from moonlight.core.runtime.engine import Engine
from moonlight.core.storage import models

START = 1_767_600_000.0  # Monday 2026-01-05 08:00 UTC
STARTING_BALANCE = 10_000.0
TERMINAL = (OrderState.SETTLED, OrderState.FAILED)
FIGURES_ENV = "MOONLIGHT_RELIABILITY_FIGURES"


def account_ids(count: int) -> list[str]:
    return [f"acc{i}" for i in range(1, count + 1)]


def write_config(
    tmp_path: Path,
    *,
    accounts: int = 3,
    products: Iterable[str] = ("EURUSD", "GBPUSD"),
    timeframes: Iterable[str] = ("15s", "1m"),
    breaker: dict[str, Any] | None = None,
    state_dir: Path | None = None,
    storage: dict[str, Any] | None = None,
    log_level: str = "INFO",
    connector: str = "mock",
) -> Path:
    """A demo-mode config: ``accounts`` accounts on their own mock broker each.

    ``state_dir`` keeps each mock broker's book in a JSON file there (so the broker
    outlives a killed engine). The risk chain lets most decisions through (threshold
    0.5, no margin, stake 1) so the faults meet plenty of orders.
    """
    guards: list[dict[str, Any]] = [
        {"name": "kill_switch"},
        {
            "name": "max_open_orders",
            "params": {"max_open_per_account": 100, "max_open_per_instrument": 10},
        },
        {"name": "circuit_breaker", "params": breaker or {}},
    ]
    account_list = []
    for index, account in enumerate(account_ids(accounts)):
        options: dict[str, Any] = {"seed": 7 + index, "payout_pct": 85.0}
        if state_dir is not None:
            options["state_path"] = str(state_dir / f"{account}.json")
        account_list.append(
            {
                "id": account,
                "connector": connector,
                "mode": "demo",
                "products": list(products),
                "timeframes": list(timeframes),
                "max_stake": 5.0,
                "connector_options": options,
            }
        )
    data: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "accounts": account_list,
        "strategies": [
            {"name": "ema_rsi"},
            {"name": "supertrend_adx"},
            {"name": "bollinger_reversion"},
        ],
        "risk": {
            "threshold": 0.5,
            "margin": 0.0,
            "sizing": {"policy": "fixed", "params": {"stake_amount": 1.0}},
            "guards": guards,
        },
        "telemetry": {"log_level": log_level},
    }
    if storage is not None:
        data["storage"] = storage
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def seed_calibration(sessions: sessionmaker[Session], a: float = -3.0) -> None:
    """Store a global Platt fit (p̂ = 1/(1+exp(a·S))): demo accounts trade on it."""
    with sessions() as session, session.begin():
        if session.scalar(select(models.Calibration.id).limit(1)) is None:
            session.add(
                models.Calibration(
                    instrument=None, timeframe=None, a=a, b=0.0, n_samples=1000, metrics={}
                )
            )


async def start_engine(
    config_path: Path, host: PluginHost, clock: Clock, *, snapshots: bool = False
) -> Engine:
    """Create the engine, store the calibration demo accounts need, start trading."""
    config = load_config(config_path, registry=host.registry)
    engine = Engine.create(config, host, clock=clock, snapshots=snapshots)
    seed_calibration(engine.sessions)
    await engine.start()
    return engine


def mocks(engine: Engine) -> dict[str, MockConnector]:
    """Each account's broker, which in demo mode on ``mock`` is the MockConnector."""
    found: dict[str, MockConnector] = {}
    for account_id, runtime in engine.accounts.items():
        assert isinstance(runtime.broker, MockConnector), type(runtime.broker)
        found[account_id] = runtime.broker
    return found


def non_terminal(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(
            session.scalars(
                select(models.Order.id).where(models.Order.state.not_in(TERMINAL))
            ).all()
        )


async def drain(engine: Engine, *, limit_s: float = 900.0, step_s: float = 5.0) -> float:
    """Stop the faults and new decisions; wait (simulated) until every order is terminal.

    Returns the simulated seconds it took. Fails if orders are still open after
    ``limit_s`` — an order that never ends is exactly what the suite hunts for.
    """
    for mock in mocks(engine).values():
        mock.faults.clear()
    engine.supervisor.pause(list(engine.supervisor.workers))
    clock: Clock = engine.clock
    started = clock.now()
    while non_terminal(engine.sessions):
        assert clock.now() - started < limit_s, (
            f"{non_terminal(engine.sessions)} order(s) still open {limit_s:g} s after the faults"
        )
        await clock.sleep_until(clock.now() + step_s)
    return clock.now() - started


@dataclass
class Verdict:
    """What the books say after a scenario (figures for docs/reliability.md)."""

    orders: int = 0
    settled: int = 0
    failed: int = 0
    broker_contracts: int = 0
    duplicates: int = 0
    lost_results: int = 0
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems[:20])
        assert self.duplicates == 0 and self.lost_results == 0


def verdict(
    sessions: sessionmaker[Session], brokers: dict[str, MockConnector], *, terminal: bool = True
) -> Verdict:
    """Check storage against every broker's book (see the module docstring)."""
    with sessions() as session:
        stored = {o.client_req_id: o for o in session.scalars(select(models.Order))}
        results = {r.order_id: r for r in session.scalars(select(models.Result))}
    found = Verdict(orders=len(stored))
    for account_id, broker in brokers.items():
        contracts = [c for c in broker.all_orders() if c.account_id == account_id]
        found.broker_contracts += len(contracts)
        seen: dict[str, int] = {}
        for contract in contracts:
            cid = contract.client_req_id or ""
            seen[cid] = seen.get(cid, 0) + 1
            order = stored.get(cid)
            if order is None:
                found.problems.append(f"orphan at the broker: {contract.broker_order_id} {cid}")
                continue
            if order.broker_order_id != contract.broker_order_id:
                found.problems.append(
                    f"{cid}: stored broker id {order.broker_order_id}"
                    f" != broker's {contract.broker_order_id}"
                )
            settlement = contract.settlement
            result = results.get(order.id)
            if settlement is None:
                if terminal:
                    found.problems.append(f"{cid}: still open at the broker")
                continue
            if result is None:
                found.lost_results += 1
                found.problems.append(f"{cid}: broker settled {settlement.outcome}, no result")
                continue
            if result.outcome is not settlement.outcome or abs(result.pnl - settlement.pnl) > 1e-6:
                found.problems.append(
                    f"{cid}: stored {result.outcome}/{result.pnl} but broker"
                    f" {settlement.outcome}/{settlement.pnl}"
                )
        found.duplicates += sum(count - 1 for count in seen.values() if count > 1)
        mine = [o for o in stored.values() if o.account_id == account_id]
        for order in mine:
            if terminal and order.state not in TERMINAL:
                found.problems.append(f"{order.client_req_id}: left in {order.state}")
            if order.state is OrderState.FAILED and seen.get(order.client_req_id):
                found.problems.append(f"{order.client_req_id}: FAILED but placed at the broker")
            if order.state is OrderState.SETTLED and not seen.get(order.client_req_id):
                found.problems.append(f"{order.client_req_id}: SETTLED but unknown to the broker")
        if terminal:
            pnl = sum(results[o.id].pnl for o in mine if o.id in results)
            balance = broker.book_balance(account_id)
            if abs(STARTING_BALANCE + pnl - balance) > 1e-6:
                found.problems.append(
                    f"{account_id}: broker balance {balance} != start + stored pnl"
                    f" {STARTING_BALANCE + pnl}"
                )
    found.settled = sum(o.state is OrderState.SETTLED for o in stored.values())
    found.failed = sum(o.state is OrderState.FAILED for o in stored.values())
    return found


def stored_alarm_codes(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(models.Alarm.code).order_by(models.Alarm.id)))


def record_figures(scenario: str, **figures: Any) -> None:
    """Append ``{"scenario": ..., **figures}`` to the figures file, if one is named."""
    target = os.environ.get(FIGURES_ENV)
    if not target:
        return
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"scenario": scenario, **figures}, sort_keys=True) + "\n")


class PhaseRecorder:
    """Samples every account's circuit-breaker phase each simulated second.

    :attr:`timeline` holds, per account, the phase changes as ``(time, phase)``;
    :meth:`open_intervals` the spans during which the breaker was OPEN.
    """

    def __init__(self, engine: Engine, *, every_s: float = 1.0) -> None:
        self.engine = engine
        self.every_s = every_s
        self.timeline: dict[str, list[tuple[float, str]]] = {a: [] for a in engine.accounts}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def phases(self, account_id: str) -> list[str]:
        return [phase for _, phase in self.timeline[account_id]]

    def open_intervals(self, account_id: str) -> list[tuple[float, float]]:
        spans: list[tuple[float, float]] = []
        opened: float | None = None
        for at, phase in self.timeline[account_id]:
            if phase == "OPEN" and opened is None:
                opened = at
            elif phase != "OPEN" and opened is not None:
                spans.append((opened, at))
                opened = None
        if opened is not None:
            spans.append((opened, float("inf")))
        return spans

    async def _run(self) -> None:
        breaker = self.engine.risk.guard("circuit_breaker")
        assert isinstance(breaker, CircuitBreaker)
        clock = self.engine.clock
        while True:
            now = clock.now()
            for account_id, changes in self.timeline.items():
                phase = breaker.phase(account_id, datetime.fromtimestamp(now, UTC)).value
                if not changes or changes[-1][1] != phase:
                    changes.append((now, phase))
            await clock.sleep_until(now + self.every_s)


def decision_ts(client_req_id: str) -> float:
    """The bar close a trader's client_req_id names (``acct:instr:tf:<close_ts>``)."""
    return float(client_req_id.rsplit(":", 1)[1])
