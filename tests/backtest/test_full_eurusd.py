"""The whole EURUSD file (186k one-minute bars, 25 weekends) through the real engine:
it completes, writes a summary and a report whose charts draw, and the research path
takes the same orders with the same outcomes on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from moonlight.core.backtest.runner import backtest_to_directory
from moonlight.core.data.load import load_candles
from moonlight.core.plugins.host import PluginHost
from moonlight.core.research.evaluate import evaluate
from moonlight.core.research.setup import build_setup, spec_from_config
from tests.backtest.report_checks import check_report
from tests.backtest.support import config_data, differences, write_config
from tests.support.market_data import EURUSD, SHARED_DATA, real_candles

pytestmark = pytest.mark.slow


@pytest.mark.timeout(1800)
def test_full_eurusd_backtest_report_and_parity(tmp_path: Path, host: PluginHost) -> None:
    real_candles(EURUSD)
    series = load_candles(SHARED_DATA / EURUSD)
    risk = {
        "margin": 0.0,
        "threshold": 0.62,
        "sizing": {"policy": "fixed", "params": {"stake_amount": 1}},
        "guards": [{"name": "max_open_orders", "params": {"max_open_per_instrument": 1}}],
    }
    # the exploration prior all the way (no walk-forward fit takes over): many orders
    everything = {"min_samples": 200_000, "window": 200_000}
    data = config_data(tmp_path, "EURUSD", risk=risk, calibration=everything)
    config = write_config(tmp_path, data, host)
    report = tmp_path / "report"
    result = backtest_to_directory(config, [series], report, host=host)
    summary = check_report(report, trades=result.summary["trades"])
    assert summary["bars"] > 180_000
    assert summary["trades"] > 1000 and summary["pushes"] > 0
    assert summary["failed_workers"] == 0
    research = evaluate(series, build_setup(spec_from_config(config, host=host), host))
    assert differences(result.trades, research.trades) == []
