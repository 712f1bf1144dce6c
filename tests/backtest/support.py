"""Shared by the backtest and research tests: configurations, runs, comparisons."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from moonlight.core.backtest.engine import attach_bar_feeds
from moonlight.core.backtest.runner import BacktestResult, Timeline, run_backtest
from moonlight.core.backtest.trades import COLUMNS, TradeLog, load_trades
from moonlight.core.config import MoonlightConfig, load_config
from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.write import write_csv
from moonlight.core.plugins.host import PluginHost
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.storage.models import RunKind
from moonlight.core.storage.repository import start_run

STRATEGIES = [{"name": "ema_rsi"}, {"name": "supertrend_adx"}, {"name": "bollinger_reversion"}]

#: A risk chain with every stateful built-in guard and balance-dependent sizing.
GUARDED_RISK: dict[str, Any] = {
    "margin": 0.0,
    "threshold": 0.5,
    "timezone": "America/New_York",
    "sizing": {"policy": "fraction", "params": {"fraction_of_balance": 0.0005}},
    "guards": [
        {"name": "kill_switch"},
        {
            "name": "consecutive_losses",
            "params": {"max_consecutive_losses": 4, "cool_down_s": 1800},
        },
        {
            "name": "max_open_orders",
            "params": {"max_open_per_account": 3, "max_open_per_instrument": 1},
        },
        {"name": "daily_loss_cap", "params": {"daily_loss_cap_pct": 1.0}},
        {"name": "circuit_breaker"},
    ],
}


def config_data(
    tmp_path: Path,
    instrument: str,
    *,
    risk: dict[str, Any] | None = None,
    timeframe: str = "1m",
    expiry: str | None = None,
    prior_a: float = -2.5,
    strategies: list[dict[str, Any]] | None = None,
    runtime: dict[str, Any] | None = None,
    calibration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    account: dict[str, Any] = {
        "id": "bt",
        "connector": "paper",
        "mode": "paper",
        "products": [instrument],
        "timeframes": [timeframe],
        "max_stake": 25.0,
        "connector_options": {"market": {"payout_pct": 85.0}},
    }
    if expiry:
        account["expiry"] = expiry
    return {
        "data_dir": str(tmp_path / "data"),
        "accounts": [account],
        "strategies": strategies or STRATEGIES,
        # exploration prior until 1,500 shadow outcomes, then walk-forward refits: the
        # parity tests cross the hand-over
        "ensemble": {
            "paper_prior": {"a": prior_a},
            "calibration": calibration or {"min_samples": 1500, "refit_every": 100},
        },
        "risk": risk
        or {
            "margin": 0.0,
            "threshold": 0.55,
            "sizing": {"policy": "fixed", "params": {"stake_amount": 2}},
        },
        "runtime": runtime or {},
        "telemetry": {"log_level": "WARNING"},
    }


def write_config(tmp_path: Path, data: dict[str, Any], host: PluginHost) -> MoonlightConfig:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_config(path, registry=host.registry)


def backtest(
    config: MoonlightConfig, series: CandleSeries, host: PluginHost, tmp_path: Path
) -> BacktestResult:
    url = f"sqlite:///{(tmp_path / 'backtest.db').as_posix()}"
    return asyncio.run(run_backtest(config, [series], host=host, storage_url=url))


def paper_run(
    data: dict[str, Any],
    series: CandleSeries,
    timeline: Timeline,
    host: PluginHost,
    tmp_path: Path,
) -> TradeLog:
    """The live composition -- ``Engine`` itself, the replay connector in paper mode, the
    stock paper broker with its SQL book -- on a fast-forward clock over the same bars."""
    folder = tmp_path / "paper"
    folder.mkdir()
    csv = write_csv(series, folder / "candles.csv")
    paper = {**data, "data_dir": str(folder / "data")}
    account = dict(paper["accounts"][0])
    account["connector"] = "replay"
    account["connector_options"] = {
        "payout_pct": 85.0,
        "files": [{"path": str(csv), "instrument": series.instrument}],
    }
    paper["accounts"] = [account]
    config = write_config(folder, paper, host)

    async def run() -> TradeLog:
        clock = FastForwardClock(0.0)
        clock.advance_to(timeline.start_ts)
        engine = Engine.create(config, host, clock=clock, run_id="paper-run", snapshots=False)
        with engine.sessions.begin() as session:
            start_run(session, run_id="paper-run", kind=RunKind.PAPER, config={})
        await engine.start()
        assert attach_bar_feeds(engine) == 1
        await clock.sleep_until(timeline.stop_ts)
        await engine.stop("test finished")
        return load_trades(engine.sessions, "paper-run")

    return asyncio.run(run())


def differences(left: TradeLog, right: TradeLog) -> list[str]:
    """Every field that differs between two trade logs (empty: identical)."""
    found: list[str] = []
    if len(left) != len(right):
        only_left = sorted(set(left.client_req_id) - set(right.client_req_id))[:5]
        only_right = sorted(set(right.client_req_id) - set(left.client_req_id))[:5]
        found.append(
            f"{len(left)} vs {len(right)} orders; only left {only_left}, right {only_right}"
        )
        return found
    for a, b in zip(left.rows(), right.rows(), strict=True):
        for column in COLUMNS:
            x, y = a[column], b[column]
            same = x == y or (
                isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y)
            )
            if not same:
                found.append(f"{a['client_req_id']} {column}: {x!r} != {y!r}")
    return found[:20]
