"""The simulated market must not hold every price it ever generated.

Found by the soak: resident memory of a 120-worker paper engine grew by ~2.3 MB per
simulated hour, steadily, in steps at each hour — exactly the size of one more hour of
1-second ticks (prices and volumes, float64) for 10 instruments in each of the 4
accounts' random-walk markets. ``RandomWalkMarket`` kept every generated block for the
whole life of the process. It now keeps the most recently used ``cache_blocks`` blocks
and regenerates an older one from the walk's state at its boundary — so the prices it
serves must be exactly those an unbounded market serves, in any order of access.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from moonlight.core.connectors.market import DEFAULT_SPECS, RandomWalkMarket

DAY_S = 86_400.0


def test_retained_price_history_does_not_grow_with_uptime() -> None:
    spec = DEFAULT_SPECS[0]
    market = RandomWalkMarket(seed=1, origin_ts=0.0, specs=[spec])
    # a worker's day: the latest candles, and a warm-up window of two days behind them
    retained = []
    for day in (3, 7):
        now = day * DAY_S
        market.candles(spec.symbol, 60, count=2 * 1440, end_ts=now)
        retained.append(market.cached_ticks)
    assert retained[1] <= retained[0] + market.block_ticks, retained
    assert retained[1] <= market.cache_blocks * market.block_ticks


def _markets(cache_blocks: int) -> tuple[RandomWalkMarket, RandomWalkMarket]:
    """A market with a tiny cache and one that never drops a block, on the same seed."""
    kwargs = {"seed": 7, "origin_ts": 1_000.0, "specs": DEFAULT_SPECS[:2], "block_ticks": 300}
    return (
        RandomWalkMarket(cache_blocks=cache_blocks, **kwargs),  # type: ignore[arg-type]
        RandomWalkMarket(cache_blocks=10_000, **kwargs),  # type: ignore[arg-type]
    )


@settings(max_examples=40, deadline=None)
@given(
    cache_blocks=st.integers(min_value=1, max_value=4),
    reads=st.lists(
        st.tuples(
            st.sampled_from([s.symbol for s in DEFAULT_SPECS[:2]]),
            st.floats(min_value=1_000.0, max_value=1_000.0 + 40 * 300.0),
            st.integers(min_value=1, max_value=700),
        ),
        min_size=1,
        max_size=25,
    ),
)
def test_a_bounded_market_serves_exactly_the_prices_of_an_unbounded_one(
    cache_blocks: int, reads: list[tuple[str, float, int]]
) -> None:
    """Random reads (jumping back into dropped blocks, spanning several blocks) agree."""
    bounded, unbounded = _markets(cache_blocks)
    for symbol, ts, span in reads:
        assert bounded.price_at(symbol, ts) == unbounded.price_at(symbol, ts)
        times_b, prices_b = bounded.ticks(symbol, ts - span, ts)
        times_u, prices_u = unbounded.ticks(symbol, ts - span, ts)
        np.testing.assert_array_equal(times_b, times_u)
        np.testing.assert_array_equal(prices_b, prices_u)
        assert bounded.candles(symbol, 60, count=span // 60 + 1, end_ts=ts) == (
            unbounded.candles(symbol, 60, count=span // 60 + 1, end_ts=ts)
        )
        assert bounded.cached_ticks <= len(bounded.symbols) * cache_blocks * bounded.block_ticks
