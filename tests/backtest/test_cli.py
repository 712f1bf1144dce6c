"""``moonlight backtest``: files in, report out, results in storage under the run id."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from moonlight.core.cli.backtest_cmd import backtest_cmd
from moonlight.core.data.load import load_candles
from moonlight.core.data.write import write_csv
from moonlight.core.storage import models
from tests.backtest.report_checks import check_report
from tests.backtest.support import config_data
from tests.support.market_data import BTCUSDT, SHARED_DATA, real_candles


def test_backtest_command_writes_the_report_and_stores_the_run(tmp_path: Path) -> None:
    real_candles(BTCUSDT)
    data_file = write_csv(
        load_candles(SHARED_DATA / BTCUSDT).slice(0, 1500), tmp_path / "BTCUSDT_slice.csv.gz"
    )
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(config_data(tmp_path, "BTCUSDT")), encoding="utf-8")
    report = tmp_path / "report"
    result = CliRunner().invoke(
        backtest_cmd,
        [str(config), "--data", str(data_file), "--report", str(report), "--run-id", "bt-cli",
         "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output[result.output.index("{") :])
    assert printed["run_id"] == "bt-cli" and printed["trades"] > 0
    summary = check_report(report, trades=printed["trades"])
    assert summary["pnl"] == printed["pnl"]
    assert (report / "backtest.log").exists()
    engine = create_engine(f"sqlite:///{report / 'backtest.db'}")
    with engine.connect() as connection:
        run = connection.execute(select(models.Run.kind, models.Run.summary)).one()
        orders = connection.scalar(
            select(func.count()).select_from(models.Order).where(models.Order.run_id == "bt-cli")
        )
        results = connection.scalar(select(func.count()).select_from(models.Result))
    engine.dispose()
    assert run.kind == "backtest" and run.summary["trades"] == printed["trades"]
    assert orders == printed["trades"]
    assert results == printed["trades"] - printed["open"]


def test_clear_errors_for_missing_data_and_bad_files(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(config_data(tmp_path, "EURUSD")), encoding="utf-8")
    other = tmp_path / "GBPUSD.csv"
    other.write_text("timestamp,open,high,low,close\n2024-01-01T00:00:00Z,1,1,1,1\n"
                     "2024-01-01T00:01:00Z,1,1,1,1\n")  # fmt: skip
    runner = CliRunner()
    missing = runner.invoke(
        backtest_cmd, [str(config), "--data", f"GBPUSD={other}", "--report", str(tmp_path / "r")]
    )
    assert missing.exit_code == 1 and "no data was given for it" in missing.output
    broken = tmp_path / "EURUSD.csv"
    broken.write_text("timestamp,open,high,low,close\n2024-01-01T00:00:00Z,1,1,oops,1\n")
    bad = runner.invoke(
        backtest_cmd, [str(config), "--data", str(broken), "--report", str(tmp_path / "r")]
    )
    assert bad.exit_code == 1 and "EURUSD.csv:2: low 'oops' is not a number" in bad.output
    short = runner.invoke(
        backtest_cmd, [str(config), "--data", str(other), "--report", str(tmp_path / "r")]
    )
    assert short.exit_code == 1 and "warm up" in short.output
