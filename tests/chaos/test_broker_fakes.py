"""The whole engine against the Olymp and Deriv loopback fake servers, with faults.

An Olymp demo account trades 5-second contracts on two instruments through the real
connector (WebSocket on 127.0.0.1, token from ``MOONLIGHT_SECRET_*``), behind the real
workers, risk chain and executor. Mid-run the fake server drops the connection right
after booking deals, loses settlement pushes, duplicates pushes and answers deals with
rate-limit errors. Afterwards storage and the fake broker's own book must agree: every
settled order names a distinct deal with that deal's outcome and profit, every deal is
recorded by exactly one order, no failed order has a deal, nothing is left open.

The same for a Deriv demo account against the Deriv fake (clock 20x real time, 1-minute
bars: the legacy API offers no shorter candles): buys dropped before and after the
broker booked them, settlement pushes lost and duplicated, buys rate-limited.

(The connectors' own fault scenarios, on the executor alone, live in
tests/connectors/olymp/ and tests/connectors/deriv/.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

pytest.importorskip("moonlight.connectors.olymp", reason="moonlight-connector-olymp not installed")

from moonlight.core.orders import OrderState, Outcome
from moonlight.core.plugins import PluginHost
from moonlight.core.runtime.clock import ScaledClock, WallClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.storage.models import Order, Result
from tests.chaos.support import non_terminal, record_figures, start_engine
from tests.connectors.olymp.fake_server import FakeOlympServer
from tests.connectors.olymp.support import olymp_config

OUTCOMES = {"win": Outcome.WIN, "loose": Outcome.LOSE, "standoff": Outcome.PUSH}
ACCOUNT = "olymp-demo"


@pytest.fixture
async def server() -> AsyncIterator[FakeOlympServer]:
    async with FakeOlympServer() as fake:
        yield fake


def write_config(tmp_path: Path, server: FakeOlympServer) -> Path:
    options = olymp_config(server).model_dump(mode="json")
    data: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "accounts": [
            {
                "id": ACCOUNT,
                "connector": "olymp",
                "mode": "demo",
                "products": ["EURUSD", "GBPUSD"],
                "timeframes": ["5s"],
                "connector_options": options,
            }
        ],
        "strategies": [
            {"name": "ema_rsi"},
            {"name": "supertrend_adx"},
            {"name": "bollinger_reversion"},
        ],
        "risk": {
            "threshold": 0.5,
            "margin": 0.0,
            "sizing": {"policy": "fixed", "params": {"stake_amount": 1.0}},
            "guards": [
                {"name": "kill_switch"},
                {"name": "max_open_orders", "params": {"max_open_per_account": 50}},
            ],
        },
        "runtime": {"settle_delay_s": 0.3},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def disagreements(engine: Engine, server: FakeOlympServer) -> list[str]:
    problems: list[str] = []
    with engine.sessions() as session:
        orders = list(session.scalars(select(Order)))
        results = {r.order_id: r for r in session.scalars(select(Result))}
    deals = {str(d.id): d for d in server.deals.values()}
    recorded: dict[str, str] = {}
    for order in orders:
        if order.state not in (OrderState.SETTLED, OrderState.FAILED):
            problems.append(f"{order.client_req_id}: left {order.state}")
        deal = deals.get(order.broker_order_id or "")
        if order.state is OrderState.FAILED and deal is not None:
            problems.append(f"{order.client_req_id}: FAILED but deal {deal.id} exists")
        if order.state is not OrderState.SETTLED:
            continue
        if deal is None:
            problems.append(f"{order.client_req_id}: settled on unknown deal")
            continue
        if order.broker_order_id in recorded:
            problems.append(f"deal {deal.id} recorded twice")
        recorded[order.broker_order_id or ""] = order.client_req_id
        result = results.get(order.id)
        if not deal.closed or result is None:
            problems.append(f"{order.client_req_id}: deal closed={deal.closed}, result={result}")
        elif (
            result.outcome is not OUTCOMES[deal.status]
            or abs(result.pnl - (deal.balance_change or 0.0)) > 1e-6
        ):
            problems.append(
                f"{order.client_req_id}: {result.outcome}/{result.pnl} vs"
                f" {deal.status}/{deal.balance_change}"
            )
    problems += [f"deal {i} not recorded" for i in deals if i not in recorded]
    return problems


async def test_olymp_session_with_faults_leaves_the_books_in_agreement(
    tmp_path: Path, server: FakeOlympServer, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOONLIGHT_SECRET_OLYMP_ACCESS_TOKEN", "access-1")
    monkeypatch.setenv("MOONLIGHT_SECRET_OLYMP_REFRESH_TOKEN", "refresh-1")
    engine = await start_engine(write_config(tmp_path, server), host, WallClock())
    began = time.monotonic()
    try:
        await asyncio.sleep(10)
        before = len(server.deals)
        faults = server.faults
        faults.drop_after_deal = 2
        faults.lose_settlements = 3
        faults.duplicate_pushes = True
        faults.rate_limit_deals = 2
        await asyncio.sleep(16)
        faults.duplicate_pushes = False
        await asyncio.sleep(5)
        after_faults = len(server.deals)
        engine.supervisor.pause(list(engine.supervisor.workers))
        for _ in range(600):  # wait (bounded, real time) until every order is terminal
            if not non_terminal(engine.sessions):
                break
            await asyncio.sleep(0.1)
        problems = disagreements(engine, server)
        record_figures(
            "Olymp fake server: drops after deal, lost/duplicate pushes, 429 on deals",
            deals=len(server.deals),
            deals_before_faults=before,
            consumed={
                "drop_after_deal": 2 - faults.drop_after_deal,
                "lose_settlements": 3 - faults.lose_settlements,
                "rate_limit_deals": 2 - faults.rate_limit_deals,
            },
            problems=problems[:10],
            wall_s=round(time.monotonic() - began, 1),
        )
        assert problems == []
        assert before > 0 and after_faults > before
        assert faults.drop_after_deal == 0 and faults.lose_settlements == 0
        assert sum(engine.supervisor.failures.values()) == 0
    finally:
        await engine.stop("test finished")


# ---------------------------------------------------------------------------- Deriv

DERIV_SPEED = 20.0  # the fake Deriv server and the engine share a clock 20× real time


def deriv_disagreements(engine: Engine, server: Any) -> list[str]:
    """Storage against the fake Deriv book (won/lost, sell - buy price)."""
    problems: list[str] = []
    with engine.sessions() as session:
        orders = list(session.scalars(select(Order)))
        results = {r.order_id: r for r in session.scalars(select(Result))}
    stored = {o.client_req_id for o in orders}
    problems += [
        f"contract {c.contract_id} unknown to storage"
        for c in server.contracts.values()
        if c.client_req_id not in stored
    ]
    for order in orders:
        contracts = server.contracts_for_client(order.client_req_id)
        result = results.get(order.id)
        if len(contracts) > 1:
            problems.append(f"{order.client_req_id}: {len(contracts)} contracts")
        if order.state is OrderState.SETTLED and len(contracts) == 1 and result is not None:
            contract = contracts[0]
            won = contract.status == "won"
            pnl = (contract.sell_price or 0.0) - contract.buy_price
            if (
                order.broker_order_id != str(contract.contract_id)
                or result.outcome is not (Outcome.WIN if won else Outcome.LOSE)
                or abs(result.pnl - pnl) > 1e-6
            ):
                problems.append(
                    f"{order.client_req_id}: {result.outcome}/{result.pnl} vs"
                    f" {contract.status}/{pnl}"
                )
        elif order.state is OrderState.FAILED and contracts:
            problems.append(f"{order.client_req_id}: FAILED but at the broker")
        elif order.state not in (OrderState.SETTLED, OrderState.FAILED) or result is None:
            problems.append(f"{order.client_req_id}: {order.state}, result {result}")
    return problems


async def test_deriv_session_with_faults_leaves_the_books_in_agreement(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    deriv = pytest.importorskip("tests.connectors.deriv.fake_server")
    from tests.connectors.deriv.conftest import DEMO_LOGIN, DEMO_TOKEN, fast_options

    clock = ScaledClock(start=float(int(time.time())), speed=DERIV_SPEED)
    server = deriv.FakeDerivServer(clock=clock, seed=11)
    server.add_account(DEMO_LOGIN, token=DEMO_TOKEN, virtual=True)
    await server.start()
    monkeypatch.setenv("MOONLIGHT_SECRET_DERIV_CHAOS", DEMO_TOKEN)
    options = fast_options(server, symbols=["R_100", "R_50"], api_token_secret_name="deriv_chaos")
    data: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "accounts": [
            {
                "id": "deriv-demo",
                "connector": "deriv",
                "mode": "demo",
                "products": ["R_100", "R_50"],
                "timeframes": ["1m"],
                "connector_options": options,
            }
        ],
        "strategies": [
            {"name": "ema_rsi"},
            {"name": "supertrend_adx"},
            {"name": "bollinger_reversion"},
        ],
        "risk": {
            "threshold": 0.5,
            "margin": 0.0,
            "sizing": {"policy": "fixed", "params": {"stake_amount": 1.0}},
            "guards": [
                {"name": "kill_switch"},
                {"name": "max_open_orders", "params": {"max_open_per_account": 50}},
            ],
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    engine = await start_engine(path, host, clock)
    began = time.monotonic()
    try:
        await asyncio.sleep(8)  # 160 simulated seconds of normal trading
        before = len(server.contracts)
        server.faults.buy_drops.extend(["after", "before", "after"])
        server.faults.lose_settlements = True
        server.faults.duplicate_pushes = True
        server.faults.rate_limit["buy"] += 2
        await asyncio.sleep(15)
        server.faults.lose_settlements = False
        server.faults.duplicate_pushes = False
        await asyncio.sleep(6)
        after_faults = len(server.contracts)
        engine.supervisor.pause(list(engine.supervisor.workers))
        for _ in range(600):  # bounded (real time) until every order is terminal
            if not non_terminal(engine.sessions):
                break
            await asyncio.sleep(0.1)
        problems = deriv_disagreements(engine, server)
        record_figures(
            "Deriv fake server: drops around buys, lost/duplicate settlement pushes, rate limits",
            contracts=len(server.contracts),
            contracts_before_faults=before,
            buy_drops_left=len(server.faults.buy_drops),
            problems=problems[:10],
            wall_s=round(time.monotonic() - began, 1),
        )
        assert problems == []
        assert before > 0 and after_faults > before
        assert not server.faults.buy_drops  # every drop was delivered
        assert sum(engine.supervisor.failures.values()) == 0
    finally:
        await engine.stop("test finished")
        await server.stop()
