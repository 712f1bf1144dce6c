"""Many configurations on data without an edge: none is called an edge after Holm.

The candles are :func:`tests.support.planted_edge.no_edge_candles` (a fair coin) at an
85 % payout (break-even 0.541): no configuration has an edge. Every candidate trades on
an assumed calibration (fixed, so each one trades and its luck shows) above a high
threshold (fewer trades per candidate, more room for luck), and the sweep's edge
p-values are adjusted for the number of candidates
(:mod:`moonlight.core.research.multiple`). The unadjusted counts are what a naive
ranking would have claimed.

(At a 100 % payout -- break-even exactly 0.5 -- one draw of these candles, seed 11, has
a one-bar persistence of 0.507: every configuration "wins" on that sample together, and
no adjustment over configurations can tell a lucky *dataset* from an edge. That is why
a verdict needs a margin over break-even and why the figures are measured on more than
one dataset.) The 200-candidate run is marked ``slow`` (a few
minutes on one core); CI runs 40.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from moonlight.core.plugins.host import PluginHost
from moonlight.core.research.multiple import holm
from moonlight.core.research.setup import make_spec
from moonlight.core.research.sweep import sweep
from tests.support.planted_edge import no_edge_candles

SPACE: dict[str, list[Any]] = {
    "ema_rsi.fast_period": [3, 5, 8, 12],
    "ema_rsi.slow_period": [21, 34, 55],
    "ema_rsi.rsi_period": [7, 14, 21],
    "bollinger_reversion.period": [10, 20, 30],
    "bollinger_reversion.nbdev": [1.5, 2.0, 2.5],
    "weights": [(1.0, 1.0), (1.0, 0.5), (0.5, 1.0)],
    "expiry": ["1m", "2m", "3m"],
}


def no_edge_sweep(host: PluginHost, samples: int, bars: int) -> Any:
    base = make_spec(
        ["ema_rsi", "bollinger_reversion"],
        calibration=(-2.5, 0.0),
        walk_forward=False,
        risk={"threshold": 0.75, "margin": 0.0, "guards": []},
        host=host,
    )
    return sweep(
        no_edge_candles(bars, seed=11),
        base,
        SPACE,
        search="random",
        samples=samples,
        seed=5,
        folds=2,
        calibrate=False,
        metric="pnl",
        workers=1,
    )


def test_holm_adjustment() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    adjusted = holm(p)
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4): ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04;
    # running maximum 0.02, 0.03, 0.06, 0.06; back in input order:
    assert adjusted[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])
    assert np.all(holm(np.full(3, 0.9)) == 1.0)


def check(table: Any, samples: int) -> dict[str, int]:
    chance = table.attrs["chance"]
    assert chance["candidates"] == samples
    assert (table["oos_trades"] > 0).sum() >= 0.8 * samples  # most candidates trade
    assert chance["significant_after_holm"] == 0, chance
    assert not table["significant"].any()
    ranked = table["edge_p_holm"].tolist()
    assert ranked == sorted(ranked)
    return chance


def test_forty_random_configurations_no_false_edge(host: PluginHost) -> None:
    table = no_edge_sweep(host, samples=40, bars=6000)
    chance = check(table, 40)
    assert chance["profitable_unadjusted"] <= 40


@pytest.mark.slow
def test_two_hundred_random_configurations_no_false_edge(host: PluginHost) -> None:
    table = no_edge_sweep(host, samples=200, bars=20000)
    chance = check(table, 200)
    print(f"\nno-edge sweep, 200 candidates: {chance}")
