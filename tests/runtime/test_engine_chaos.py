"""Chaos inside the engine: a worker that fails on every bar, a connector that drops.

The rest keep trading; the disconnected account catches up on the bars it missed
(indicators stay exact) without deciding on any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from moonlight.core.config import load_config
from moonlight.core.connectors.contract import Candle
from moonlight.core.connectors.mock import MockConnector
from moonlight.core.connectors.plugin import MockConnectorConfig, make_mock
from moonlight.core.plugins import ComponentSpec, build_plugin_host, hookimpl
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.runtime.worker import WorkerState
from moonlight.core.storage import models

START = 1_767_600_000.0  # a Monday morning, epoch-aligned to the minute


class ExplodingConnector(MockConnector):
    """A mock whose candles for one instrument always raise a bug-like error."""

    async def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> Sequence[Candle]:
        if instrument == "GBPUSD":
            raise RuntimeError("bug in a connector plugin")
        return await super().candles(instrument, timeframe_s, count=count, end_ts=end_ts)


def make_exploding(config: MockConnectorConfig, *, clock: Any = None, **_: Any) -> MockConnector:
    mock = make_mock(config, clock=clock)
    mock.__class__ = ExplodingConnector
    return mock


class ChaosPlugin:
    @hookimpl
    def moonlight_register_connectors(self) -> list[ComponentSpec]:
        return [
            ComponentSpec(
                "exploding",
                make_exploding,
                "mock that fails on GBPUSD",
                config_model=MockConnectorConfig,
            )
        ]


def config_text(tmp_path: Path) -> str:
    return f"""
data_dir: {tmp_path / "data"}
accounts:
  - {{id: steady, connector: mock, mode: paper, products: [EURUSD, USDJPY], timeframes: [1m],
     connector_options: {{seed: 3, payout_pct: 85}}}}
  - {{id: flaky, connector: exploding, mode: paper, products: [EURUSD, GBPUSD],
     timeframes: [1m], connector_options: {{seed: 3, payout_pct: 85}}}}
strategies: [{{name: ema_rsi}}, {{name: supertrend_adx}}, {{name: bollinger_reversion}}]
ensemble: {{paper_prior: {{a: -3.0}}}}
risk:
  margin: 0.0
  threshold: 0.5
  sizing: {{policy: fixed, params: {{stake_amount: 1}}}}
  guards: [{{name: max_open_orders, params: {{max_open_per_account: 50,
             max_open_per_instrument: 5}}}}]
runtime: {{restart_backoff_max_s: 120}}
"""


@pytest.fixture
async def engine(tmp_path: Path):
    host = build_plugin_host(extra_plugins=[("chaos", ChaosPlugin())])
    path = tmp_path / "config.yaml"
    path.write_text(config_text(tmp_path), encoding="utf-8")
    config = load_config(path, registry=host.registry)
    clock = FastForwardClock(START)
    engine = Engine.create(config, host, clock=clock, snapshots=False)
    await engine.start()
    yield engine
    await engine.stop("test finished")


def orders_by_worker(engine: Engine) -> dict[tuple[str, str], list[int]]:
    with engine.sessions() as session:
        rows = session.execute(
            select(models.Order.account_id, models.Order.instrument, models.Order.client_req_id)
        ).all()
    found: dict[tuple[str, str], list[int]] = {}
    for account, instrument, client_req_id in rows:
        found.setdefault((account, instrument), []).append(int(client_req_id.rsplit(":", 1)[1]))
    return found


async def test_a_worker_failing_on_every_bar_does_not_stop_the_others(engine: Engine) -> None:
    clock = engine.clock
    await clock.sleep_until(START + 30 * 60 + 5)  # the 30th bar is handled at +0.5 s
    supervisor = engine.supervisor
    broken = supervisor.workers["flaky/GBPUSD/1m"]
    assert supervisor.failures["flaky/GBPUSD/1m"] >= 3  # restarted with back-off, again
    assert broken.state is WorkerState.BACKOFF or broken.bars_seen == 0
    # every other worker saw every bar and kept deciding
    for label in ("steady/EURUSD/1m", "steady/USDJPY/1m", "flaky/EURUSD/1m"):
        worker = supervisor.workers[label]
        assert worker.state is WorkerState.RUNNING
        assert worker.decisions == 30
    orders = orders_by_worker(engine)
    assert orders.get(("steady", "EURUSD")) and orders.get(("flaky", "EURUSD"))
    assert ("flaky", "GBPUSD") not in orders
    # the failures were alarmed (warning, de-duplicated per message)
    assert engine.alarms.emitted >= 1


async def test_disconnected_account_catches_up_without_deciding_on_stale_bars(
    engine: Engine,
) -> None:
    clock = engine.clock
    await clock.sleep_until(START + 10 * 60 + 5)
    steady = engine.accounts["steady"].market
    assert isinstance(steady, MockConnector)
    steady.faults.reconnect_after_s = 5 * 60
    steady.drop_connection()  # down from 10:05 until 15:05
    await clock.sleep_until(START + 25 * 60 + 5)
    worker = engine.supervisor.workers["steady/EURUSD/1m"]
    other = engine.supervisor.workers["flaky/EURUSD/1m"]
    # no bar was skipped in the indicators: the missed ones were replayed after reconnect
    assert worker.last_bar_end_ts == START + 25 * 60
    assert worker.bars_seen == other.bars_seen
    # ... but none of the five bars that closed during the outage was traded
    assert worker.decisions == other.decisions - 5
    outage = range(int(START + 11 * 60), int(START + 15 * 60) + 1, 60)
    traded = set(orders_by_worker(engine).get(("steady", "EURUSD"), []))
    assert not traded & set(outage)
    # the other account traded straight through the outage
    assert other.decisions == 25


async def test_restarted_workers_resume_from_snapshots_with_identical_state(
    tmp_path: Path,
) -> None:
    host = build_plugin_host(extra_plugins=[("chaos", ChaosPlugin())])

    def build(directory: Path) -> Engine:
        directory.mkdir()
        path = directory / "config.yaml"
        path.write_text(config_text(directory), encoding="utf-8")
        config = load_config(path, registry=host.registry)
        return Engine.create(config, host, clock=clock, snapshots=True)

    label = "steady/EURUSD/1m"
    clock = FastForwardClock(START)
    interrupted = build(tmp_path / "interrupted")
    await interrupted.start()
    await clock.sleep_until(START + 20 * 60 + 5)
    await interrupted.stop("restart")
    resumed = build_again = Engine.create(interrupted.config, host, clock=clock, snapshots=True)
    await clock.sleep_until(START + 23 * 60 + 5)  # three bars pass while it is down
    await resumed.start()
    await clock.sleep_until(START + 30 * 60 + 5)
    worker = build_again.supervisor.workers[label]
    assert worker.restored_from_snapshot
    resumed_values = dict(worker.group.feed.values)
    await resumed.stop("done")

    clock = FastForwardClock(START)
    continuous = build(tmp_path / "continuous")
    await continuous.start()
    await clock.sleep_until(START + 30 * 60 + 5)
    reference = continuous.supervisor.workers[label]
    assert not reference.restored_from_snapshot
    assert worker.last_bar_end_ts == reference.last_bar_end_ts
    assert resumed_values == dict(reference.group.feed.values)
    await continuous.stop("done")
