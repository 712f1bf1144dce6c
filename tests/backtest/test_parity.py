"""Parity: the event-driven backtest, the vectorised research path and a paper run on the
simulated clock take the same orders with the same outcomes on the same real candles.

* the backtest: :class:`BacktestEngine` -- the live engine with the replay's paper broker;
* research: :func:`evaluate` -- vectorised signals, the Numba risk kernel, and (``exact``)
  the configured RiskManager objects driven event by event;
* the paper run: ``Engine`` itself with the ``replay`` connector in paper mode, the stock
  paper broker and its SQL book, the stock workers and the SQL order journal.

Every field of every order is compared: id (so the bar), direction, stake, payout, S,
p̂, decision time, outcome, PnL, entry and exit prices, settlement time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from moonlight.core.data.load import load_candles
from moonlight.core.plugins.host import PluginHost
from moonlight.core.research.evaluate import evaluate
from moonlight.core.research.setup import build_setup, spec_from_config
from tests.backtest.support import (
    GUARDED_RISK,
    backtest,
    config_data,
    differences,
    paper_run,
    write_config,
)
from tests.support.market_data import BTCUSDT, EURUSD, SHARED_DATA, real_candles


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def check_all_three(tmp_path: Path, host: PluginHost, data: dict, series) -> dict:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, data, host)
    result = backtest(config, series, host, tmp_path)
    setup = build_setup(spec_from_config(config, host=host), host)
    fast = evaluate(series, setup)
    exact = evaluate(series, setup, exact=True)
    assert fast.timeline.start_ts == result.timeline.start_ts
    assert differences(result.trades, fast.trades) == []
    assert differences(result.trades, exact.trades) == []
    paper = paper_run(data, series, result.timeline, host, tmp_path)
    assert differences(result.trades, paper) == []
    summary = result.summary
    for key in ("trades", "wins", "losses", "pushes", "aborts", "pnl", "max_drawdown", "brier"):
        assert fast.summary[key] == summary[key], key
    return {**summary, "refusals": fast.bars["reason"].value_counts().to_dict()}


def test_btcusdt_with_every_stateful_guard(tmp_path: Path, host: PluginHost) -> None:
    real_candles(BTCUSDT)
    series = load_candles(SHARED_DATA / BTCUSDT).slice(0, 2500)
    summary = check_all_three(
        tmp_path, host, config_data(tmp_path, "BTCUSDT", risk=GUARDED_RISK), series
    )
    assert summary["trades"] > 200 and summary["wins"] and summary["losses"]
    refusals = summary["refusals"]
    for reason in ("consecutive_losses", "max_open_orders_instrument", "daily_loss_cap"):
        assert refusals.get(reason, 0) > 0, refusals


def test_eurusd_across_a_weekend_with_a_three_minute_expiry(
    tmp_path: Path, host: PluginHost
) -> None:
    real_candles(EURUSD)
    series = load_candles(SHARED_DATA / EURUSD).between(
        stamp("2017-01-05T12:00:00"), stamp("2017-01-09T12:00:00")
    )
    assert series.report.gaps and max(g.missing_bars for g in series.report.gaps) > 200
    risk = {
        **GUARDED_RISK,
        "sizing": {"policy": "kelly_lite", "params": {"kelly_fraction": 0.5}},
        "guards": [
            {
                "name": "max_open_orders",
                "params": {"max_open_per_account": 2, "max_open_per_instrument": 2},
            },
            {
                "name": "consecutive_losses",
                "params": {"max_consecutive_losses": 3, "cool_down_s": 600},
            },
        ],
    }
    data = config_data(tmp_path, "EURUSD", risk=risk, expiry="3m", prior_a=-4.0)
    summary = check_all_three(tmp_path, host, data, series)
    assert summary["trades"] > 100 and summary["pushes"] > 0
    assert summary["refusals"].get("max_open_orders_account", 0) > 0


@pytest.mark.slow
def test_five_minute_worker_on_one_minute_data(tmp_path: Path, host: PluginHost) -> None:
    real_candles(BTCUSDT)
    series = load_candles(SHARED_DATA / BTCUSDT).slice(0, 6000)
    data = config_data(tmp_path, "BTCUSDT", timeframe="5m", expiry="5m")
    summary = check_all_three(tmp_path, host, data, series)
    assert summary["trades"] > 50
