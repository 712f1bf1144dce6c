"""Synthetic candles with a planted, nonlinear edge (the learned strategy's yardstick).

The rule, on 1-minute bars with a one-bar expiry: after bar ``t`` closes, the next close
is higher with probability **0.62 when RSI(7) > 55 and RSI(28) < 50 hold together**
(a short-term rally inside a longer decline) and **0.50 otherwise**. Either condition
alone carries only a diluted edge; the conjunction is the signal, which a linear score
of the two RSIs does not express. The RSIs are the catalogue's streaming indicators --
the exact values the learned strategy's features see.

Step sizes are random (never zero, so no pushes), high and low straddle open and close.
"""

from __future__ import annotations

import numpy as np

from moonlight.core.data.candles import CandleSeries
from moonlight.core.strategy.indicators import registry_indicator_source

#: Probability of an up move when both conditions hold / otherwise.
P_EDGE = 0.62
P_BASE = 0.50
FAST, SLOW = 7, 28
FAST_ABOVE, SLOW_BELOW = 55.0, 50.0


def planted_edge_candles(
    bars: int, *, seed: int = 0, start_ts: float = 1_699_999_980.0, instrument: str = "PLANTED"
) -> tuple[CandleSeries, np.ndarray]:
    """``bars`` one-minute candles and, per bar, whether the planted condition held."""
    rng = np.random.default_rng(seed)
    source = registry_indicator_source()
    fast = source.stream("rsi", timeperiod=FAST)
    slow = source.stream("rsi", timeperiod=SLOW)
    steps = 0.0002 * (0.25 + rng.exponential(1.0, bars))
    draws = rng.random(bars)
    wicks = 0.00005 * rng.random((bars, 2))
    close = np.empty(bars)
    held = np.zeros(bars, bool)
    price = 1.1
    up_probability = P_BASE
    for t in range(bars):
        price = price * (1.0 + steps[t]) if draws[t] < up_probability else price / (1.0 + steps[t])
        close[t] = price
        rsi_fast, rsi_slow = fast.update(price), slow.update(price)
        held[t] = bool(rsi_fast > FAST_ABOVE and rsi_slow < SLOW_BELOW)
        up_probability = P_EDGE if held[t] else P_BASE
    open_ = np.concatenate(([1.1], close[:-1]))
    high = np.maximum(open_, close) * (1.0 + wicks[:, 0])
    low = np.minimum(open_, close) * (1.0 - wicks[:, 1])
    series = CandleSeries.from_arrays(
        instrument,
        60,
        {
            "start_ts": start_ts + 60.0 * np.arange(bars),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": np.zeros(bars),
        },
        source="planted edge",
    )
    return series, held
