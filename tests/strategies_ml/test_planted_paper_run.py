"""The planted edge through the whole engine: the trained model in the ensemble, Platt
calibrated on fresh candles, then the paper broker replaying other fresh candles
(``moonlight backtest`` is the live engine on a simulated clock)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from moonlight.core.backtest.verdict import wilson_interval
from moonlight.core.cli.app import cli
from moonlight.core.data.write import write_csv
from moonlight.strategies.ml.synthetic import P_EDGE, planted_edge_candles

pytestmark = pytest.mark.slow


def test_paper_run_trades_the_planted_edge_at_its_rate_and_makes_money(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, registry = trained
    monkeypatch.chdir(tmp_path)
    calibration, _ = planted_edge_candles(20_000, seed=21)
    replay, _ = planted_edge_candles(20_000, seed=22, start_ts=1_702_000_020.0)
    write_csv(calibration, "calibrate.csv")
    write_csv(replay, "replay.csv")
    Path("paper.yaml").write_text(
        json.dumps(
            {
                "data_dir": "data",
                "accounts": [
                    {
                        "id": "paper-1",
                        "connector": "paper",
                        "mode": "paper",
                        "products": ["PLANTED"],
                        "timeframes": ["1m"],
                        "max_stake": 10.0,
                    }
                ],
                "strategies": [
                    {
                        "name": "learned",
                        "params": {"model": "planted", "registry_dir": str(registry)},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    calibrate = runner.invoke(
        cli, ["calibrate", "paper.yaml", "--csv", "calibrate.csv", "--instrument", "PLANTED"]
    )
    assert calibrate.exit_code == 0, calibrate.output
    run = runner.invoke(
        cli,
        [
            *("backtest", "paper.yaml", "--data", "PLANTED=replay.csv", "--report", "r"),
            *("--json", "--storage-url", "sqlite:///data/moonlight.db"),
        ],
    )
    assert run.exit_code == 0, run.output
    summary = json.loads(Path("r/summary.json").read_text(encoding="utf-8"))
    wins, trades = summary["wins"], summary["trades"]
    low, high = wilson_interval(wins, wins + summary["losses"])
    assert trades > 100 and summary["pnl"] > 0, summary
    assert low <= P_EDGE <= high, (wins, trades, low, high)
