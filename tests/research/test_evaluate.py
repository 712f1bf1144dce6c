"""evaluate(): the notebook API -- DataFrames in and out, gaps and warm-up as a worker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.load import load_candles
from moonlight.core.plugins.host import PluginHost
from moonlight.core.research.evaluate import evaluate
from moonlight.core.research.setup import build_setup, make_spec
from moonlight.core.research.signals import segments
from moonlight.core.strategy.host import StrategyHost
from moonlight.core.strategy.indicators import RegistryIndicatorSource
from tests.support.market_data import BTCUSDT, SHARED_DATA, real_candles


@pytest.fixture(scope="module")
def btc() -> CandleSeries:
    real_candles(BTCUSDT)
    return load_candles(SHARED_DATA / BTCUSDT).slice(0, 8000)


def test_a_dataframe_in_gives_a_frame_of_signals_decisions_and_outcomes(
    btc: CandleSeries, host: PluginHost
) -> None:
    frame = btc.to_frame()
    spec = make_spec(["ema_rsi", "macd_cross"], calibration=(-3.0, 0.0), host=host,
                     risk={"threshold": 0.5, "margin": 0.0})  # fmt: skip
    result = evaluate(frame, spec, instrument="BTCUSDT")
    bars = result.bars
    assert isinstance(bars, pd.DataFrame) and bars.index.tz is not None
    for column in ("signal:ema_rsi", "signal:macd_cross", "S", "p_hat", "decision", "reason",
                   "stake", "outcome", "entry_price", "exit_price", "pnl"):  # fmt: skip
        assert column in bars
    traded = bars[bars["decision"] == "trade"]
    assert len(traded) == result.summary["trades"] == len(result.orders())
    assert set(traded["outcome"].astype(str)) <= {"win", "lose", "push", "open"}
    assert (traded["p_hat"] >= 1 / 1.85).all()
    won = traded[traded["outcome"] == "win"]
    assert np.allclose(won["pnl"], won["stake"] * 0.85)
    ups = won[won["direction"] > 0]
    assert (ups["exit_price"] > ups["entry_price"]).all()
    # the same data as a CandleSeries gives the same orders
    again = evaluate(btc, build_setup(spec, host))
    assert list(again.trades.client_req_id) == list(result.trades.client_req_id)
    # warm-up excluded: the first decided bar comes after the strategies' warm-up
    assert bars.index[0] > frame.index[100]


def test_unfitted_calibration_never_trades(btc: CandleSeries, host: PluginHost) -> None:
    result = evaluate(btc, make_spec("ema_rsi", host=host))
    assert result.summary["trades"] == 0
    assert set(result.bars["reason"].astype(str)) <= {"no_direction", "p_hat_below_break_even"}


def test_signals_equal_the_strategies_streaming_path(btc: CandleSeries, host: PluginHost) -> None:
    """Spot-check: the vectorised signals of a decided bar are what the streaming host
    returns on the same bar after the same warm-up."""
    spec = make_spec(["ema_rsi", "supertrend_adx"], host=host)
    setup = build_setup(spec, host)
    result = evaluate(btc, setup)
    source = RegistryIndicatorSource(host.registry)
    from moonlight.core.strategy.host import StrategyGroup

    group = StrategyGroup([s for s in build_setup(spec, host).strategies], source)
    first = int(result.ensemble.index[0])
    window = result.timeline.warmup_bars
    signals = []
    for i in range(first - window, first + 300):
        bar = btc.slice(i, i + 1)
        from moonlight.core.strategy.api import Bar

        signals.append(group.on_bar(Bar(float(bar.open[0]), float(bar.high[0]), float(bar.low[0]),
                                        float(bar.close[0]), float(bar.volume[0]),
                                        float(bar.start_ts[0]))))  # fmt: skip
    for offset in range(300):
        live = signals[window + offset]
        for name_index, series in enumerate(result.ensemble.signals):
            assert live[name_index] == series.signal_at(offset)
    assert isinstance(StrategyHost, type)


def test_segments_follow_the_workers_rebuild_rule() -> None:
    ends = np.array([60.0 * i for i in range(1, 31)] + [60.0 * 300 + 60 * i for i in range(20)])
    parts = segments(ends, 60, warmup_bars=10, first_traded=10, catch_up_bars=200)
    assert [(p.window_start, p.first_traded, p.stop) for p in parts] == [
        (0, 10, 30),  # initial warm-up on bars 0-9, trading 10-29
        (21, 31, 50),  # gap of 270 bars > 200: rebuilt from 21-30, bar 30 not traded
    ]
    short = segments(ends, 60, warmup_bars=10, first_traded=10, catch_up_bars=500)
    assert [(p.window_start, p.first_traded, p.stop) for p in short] == [(0, 10, 50)]
