"""Memory stays flat across 100 consecutive runs in one process.

Python allocations are traced (tracemalloc) after a few warm-up runs -- caches that fill
once (compiled SQL, Numba dispatchers, plugin registries) are allowed to fill -- and the
growth over the next runs must stay under a small bound: a leak of one trade log, one
engine or one candle copy per run would exceed it many times over.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from pathlib import Path

import pytest

from moonlight.core.backtest.runner import run_backtest
from moonlight.core.data.load import load_candles
from moonlight.core.plugins.host import PluginHost
from moonlight.core.research.evaluate import evaluate
from moonlight.core.research.setup import build_setup, spec_from_config
from tests.backtest.support import config_data, write_config
from tests.support.market_data import BTCUSDT, SHARED_DATA, real_candles

RUNS = 100
WARM_UP_RUNS = 10


def growth_over_runs(run: object, runs: int = RUNS) -> int:
    """Bytes still allocated after ``runs - WARM_UP_RUNS`` more runs than after warm-up."""
    assert callable(run)
    tracemalloc.start()
    try:
        for _ in range(WARM_UP_RUNS):
            run()
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        for _ in range(runs - WARM_UP_RUNS):
            run()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()


def test_research_runs_do_not_grow_memory(tmp_path: Path, host: PluginHost) -> None:
    real_candles(BTCUSDT)
    series = load_candles(SHARED_DATA / BTCUSDT).slice(0, 20_000)
    # the exploration prior throughout, so every run builds a sizeable trade log
    everything = {"min_samples": 20_000, "window": 20_000}
    data = config_data(tmp_path, "BTCUSDT", calibration=everything)
    config = write_config(tmp_path, data, host)
    setup = build_setup(spec_from_config(config, host=host), host)
    trades = evaluate(series, setup).summary["trades"]
    assert trades > 1000  # each run builds a sizeable trade log and frame

    def run() -> None:
        evaluation = evaluate(series, setup)
        assert evaluation.summary["trades"] == trades
        evaluation.bars  # the DataFrame too  # noqa: B018

    grown = growth_over_runs(run)
    assert grown < 2_000_000, f"{grown / 1e6:.1f} MB kept over {RUNS - WARM_UP_RUNS} runs"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_event_driven_backtests_do_not_grow_memory(tmp_path: Path, host: PluginHost) -> None:
    real_candles(BTCUSDT)
    series = load_candles(SHARED_DATA / BTCUSDT).slice(0, 400)
    config = write_config(tmp_path, config_data(tmp_path, "BTCUSDT"), host)
    url = f"sqlite:///{(tmp_path / 'runs.db').as_posix()}"
    counter = iter(range(10_000))

    def run() -> None:
        result = asyncio.run(
            run_backtest(config, [series], host=host, storage_url=url, run_id=f"m{next(counter)}")
        )
        assert result.summary["trades"] > 0

    grown = growth_over_runs(run)
    assert grown < 8_000_000, f"{grown / 1e6:.1f} MB kept over {RUNS - WARM_UP_RUNS} runs"
