"""The simulated market must not hold every price it ever generated.

Found by the soak: resident memory of a 120-worker paper engine grows by ~2.3 MB per
simulated hour, steadily, in steps at each hour — exactly the size of one more hour of
1-second ticks (prices and volumes, float64) for 10 instruments in each of the 4
accounts' random-walk markets. ``RandomWalkMarket`` keeps every generated block for the
whole life of the process, so ``moonlight run`` in paper mode grows without bound
(~390 MB a week for that set-up).
"""

from __future__ import annotations

import pytest

from moonlight.core.connectors.market import DEFAULT_SPECS, RandomWalkMarket

pytestmark = pytest.mark.slow
DAY_S = 86_400.0


def retained_ticks(market: RandomWalkMarket) -> int:
    """Ticks (of every instrument) the market holds in memory now."""
    return sum(sum(len(block) for block in path.blocks) for path in market._paths.values())


@pytest.mark.xfail(
    strict=True,
    reason="RandomWalkMarket (moonlight.core.connectors.market) appends a block per hour of"
    " ticks to _Path.blocks/volume_blocks and never drops one: memory grows with uptime",
)
def test_retained_price_history_does_not_grow_with_uptime() -> None:
    spec = DEFAULT_SPECS[0]
    market = RandomWalkMarket(seed=1, origin_ts=0.0, specs=[spec])
    # a worker's day: the latest candles, and a warm-up window of two days behind them
    retained = []
    for day in (3, 7):
        now = day * DAY_S
        market.candles(spec.symbol, 60, count=2 * 1440, end_ts=now)
        retained.append(retained_ticks(market))
    assert retained[1] <= retained[0] + market.block_ticks, retained
