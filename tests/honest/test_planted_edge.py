"""A planted edge is learned, then traded -- identically in backtest, research and paper.

The candles of :mod:`tests.support.planted_edge` hide a rule that wins with p = 0.60 at
an 85 % payout (break-even 0.541). The configuration assumes nothing (no exploration
prior): p̂ is 0.5 until the walk-forward calibration has ``min_samples`` shadow
outcomes, so the engine cannot trade before it has learned the edge, and must trade
after. At the end the win rate's 95 % interval contains 0.60, p̂ is calibrated over
every decision, the PnL is positive and the verdict says "edge".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moonlight.core.plugins.host import PluginHost
from moonlight.core.research.evaluate import evaluate
from moonlight.core.research.setup import build_setup, spec_from_config
from tests.backtest.support import backtest, differences, paper_run, write_config
from tests.support.planted_edge import P_WIN, PAYOUT_PCT, planted_candles

BARS = 3000
MIN_SAMPLES = 200


def planted_config(tmp_path: Path, instrument: str) -> dict[str, Any]:
    return {
        "data_dir": str(tmp_path / "data"),
        "accounts": [
            {
                "id": "bt",
                "connector": "paper",
                "mode": "paper",
                "products": [instrument],
                "timeframes": ["1m"],
                "max_stake": 25.0,
                "connector_options": {"market": {"payout_pct": PAYOUT_PCT}},
            }
        ],
        "strategies": [{"name": "planted_last_bar"}],
        "ensemble": {"calibration": {"min_samples": MIN_SAMPLES, "refit_every": 50}},
        "risk": {
            "threshold": 0.55,
            "margin": 0.01,
            "sizing": {"policy": "fixed", "params": {"stake_amount": 5}},
            "guards": [],
        },
        "telemetry": {"log_level": "WARNING"},
    }


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, host: PluginHost) -> dict[str, Any]:
    tmp_path = tmp_path_factory.mktemp("planted")
    series = planted_candles(BARS, seed=4)
    data = planted_config(tmp_path, series.instrument)
    config = write_config(tmp_path, data, host)
    result = backtest(config, series, host, tmp_path)
    research = evaluate(series, build_setup(spec_from_config(config, host=host), host))
    paper = paper_run(data, series, result.timeline, host, tmp_path)
    return {"result": result, "research": research, "paper": paper}


def test_the_three_paths_take_the_same_orders(planted: dict[str, Any]) -> None:
    result = planted["result"]
    assert differences(result.trades, planted["research"].trades) == []
    assert differences(result.trades, planted["paper"]) == []
    # the same decisions, shadow outcomes and verdict figures from the research path
    assert planted["research"].summary["edge"] == result.summary["edge"]


def test_nothing_is_traded_before_the_calibration_has_learned(planted: dict[str, Any]) -> None:
    trades = planted["result"].trades
    start = planted["result"].timeline.start_ts
    first_trade_bar = (trades.decided_ts.min() - start) // 60
    # one decision per bar; an outcome is known one bar after its decision
    assert first_trade_bar >= MIN_SAMPLES, first_trade_bar
    # ... and trading starts once a fit has seen the edge (a few refits at most)
    assert first_trade_bar < MIN_SAMPLES + 600, first_trade_bar


def test_the_edge_is_found_and_profitable(planted: dict[str, Any]) -> None:
    summary = planted["result"].summary
    edge = summary["edge"]
    low, high = edge["win_rate_ci95"]
    assert low <= P_WIN <= high, edge
    assert summary["verdict"] == "edge", edge
    assert summary["pnl"] > 0
    assert edge["exploration_trades"] == 0
    assert edge["decisions"] >= BARS - 50 and edge["trades_counted"] > BARS / 2
    assert np.all(planted["result"].trades.p_hat > 0.55)


@pytest.mark.parametrize("seed", [4, 9])
def test_over_twenty_thousand_bars_p_hat_is_calibrated(
    seed: int, tmp_path: Path, host: PluginHost
) -> None:
    """The research path (order for order the backtest, as above) on a longer history:
    over every decision the calibration error is small, the win rate is 0.60's."""
    series = planted_candles(20_000, seed=seed)
    config = write_config(tmp_path, planted_config(tmp_path, series.instrument), host)
    summary = evaluate(series, build_setup(spec_from_config(config, host=host), host)).summary
    edge = summary["edge"]
    low, high = edge["win_rate_ci95"]
    assert low <= P_WIN <= high, edge
    assert edge["decision_ece"] <= 0.02, edge
    assert summary["verdict"] == "edge" and summary["pnl"] > 0
