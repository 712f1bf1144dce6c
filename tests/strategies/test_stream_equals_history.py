"""Every reference strategy: the streaming path equals the vectorised path, bar by bar.

Streaming goes through the same host and shared indicator feed a worker uses; the
vectorised path is ``evaluate_history`` on the whole frame. Direction, strength (bit
for bit) and reason must agree on every bar -- on seeded random walks and on the real
EURUSD and BTCUSDT minute candles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from moonlight.core.strategy.api import Bar, SignalSeries, Strategy, price_arrays
from moonlight.core.strategy.host import StrategyGroup, StrategyHost
from moonlight.strategies.basic._base import library_source
from moonlight.strategies.basic.plugin import STRATEGIES
from tests.support.market_data import BTCUSDT, EURUSD, real_candles

#: Real-candle slice length: long enough for thousands of signals, short enough for CI.
REAL_BARS = 40_000


def random_walk(bars: int, seed: int) -> dict[str, np.ndarray]:
    """OHLCV with volatility clustering, occasional flat bars and volume spikes."""
    rng = np.random.default_rng(seed)
    vol = 0.0005 * np.exp(np.cumsum(rng.normal(0, 0.05, bars)).clip(-2, 2))
    steps = rng.normal(0, 1, bars) * vol
    steps[rng.random(bars) < 0.01] = 0.0  # some bars close where they opened
    close = 1.1 * np.exp(np.cumsum(steps))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0, 1, bars)) * vol * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread * rng.random(bars)
    volume = rng.lognormal(3, 1, bars) * np.where(rng.random(bars) < 0.05, 5.0, 1.0)
    start_ts = 1.7e9 + 60.0 * np.arange(bars)  # minute bars crossing a few UTC midnights
    return {
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
        "start_ts": start_ts,
    }


def streamed(strategy: Strategy[Any], frame: Any) -> SignalSeries:
    """Run the streaming path bar by bar; collect the signals as arrays."""
    group = StrategyGroup([strategy], library_source())
    prices = price_arrays(frame)
    columns = [prices[c].tolist() for c in ("open", "high", "low", "close", "volume", "start_ts")]
    n = len(columns[0])
    direction = np.zeros(n, np.int8)
    strength = np.zeros(n)
    reasons: list[str] = []
    for i, values in enumerate(zip(*columns, strict=True)):
        signal = group.on_bar(Bar(*values))[0]
        direction[i] = signal.sign
        strength[i] = signal.strength
        reasons.append(signal.reason)
    assert group.hosts[0].errors == 0, group.hosts[0].last_error
    table = tuple(dict.fromkeys(reasons))
    codes = np.array([table.index(r) for r in reasons], np.int16)
    return SignalSeries(direction, strength, codes, table)


def assert_identical(stream: SignalSeries, history: SignalSeries) -> None:
    assert len(stream) == len(history)
    differ = np.flatnonzero(
        (stream.direction != history.direction) | (stream.strength != history.strength)
    )
    assert differ.size == 0, (
        f"{differ.size} bars differ, first at {differ[0]}: stream "
        f"{stream.signal_at(int(differ[0]))} vs history {history.signal_at(int(differ[0]))}"
    )
    stream_reasons = np.array(stream.reasons, object)[stream.reason_code]
    history_reasons = np.array(history.reasons, object)[history.reason_code]
    assert (stream_reasons == history_reasons).all()


def _non_default(cls: type[Strategy[Any]]) -> Any:
    """A valid parameter set away from the defaults (shorter periods)."""
    defaults = cls.params_model()
    changed = {}
    for name, value in defaults.model_dump().items():
        if "period" in name and isinstance(value, int) and value >= 4:
            changed[name] = value // 2 + 1
    return cls.params_model.model_validate({**defaults.model_dump(), **changed})


@pytest.mark.parametrize("cls", STRATEGIES, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", [1, 2])
def test_random_walk(cls: type[Strategy[Any]], seed: int) -> None:
    frame = random_walk(6000, seed)
    for params in (cls.params_model(), _non_default(cls)):
        history = StrategyHost(cls(params)).history(frame)
        assert_identical(streamed(cls(params), frame), history)
        assert np.count_nonzero(history.direction) >= 20, "the rule must fire to prove anything"


@pytest.mark.parametrize("cls", STRATEGIES, ids=lambda c: c.name)
@pytest.mark.parametrize("name", [EURUSD, BTCUSDT], ids=["EURUSD", "BTCUSDT"])
def test_real_candles(cls: type[Strategy[Any]], name: str) -> None:
    candles = real_candles(name).iloc[:REAL_BARS]
    history = StrategyHost(cls()).history(candles)
    assert_identical(streamed(cls(), candles), history)
    if candles["volume"].any() or cls.name != "vwap_rvol":
        assert np.count_nonzero(history.direction) >= 20
