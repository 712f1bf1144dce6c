"""Stream update cost of the two indicators TA-Lib does not have (target <= 1 us).

Run: ``python -m pytest benchmarks/test_beyond_stream_bench.py -m bench --benchmark-only``
(needs a quiet machine for a meaningful figure).
"""

from __future__ import annotations

from typing import Any

import pytest

import moonlight.indicators.stream as ms
from tests.indicators.test_beyond import avwap_inputs, minute_times, walk


@pytest.mark.bench
@pytest.mark.parametrize("name", ["ichimoku", "anchored_vwap"])
def test_stream_update_under_a_microsecond(name: str, benchmark: Any) -> None:
    """Issue 3's target for the two non-TA-Lib streams: <= 1 us per update.

    Reports the minimum per update; the figure is recorded, a miss fails this benchmark.
    """
    bars = walk(500, seed=51)
    times = minute_times(500)
    if name == "ichimoku":
        stream = ms.ichimoku(bars["high"], bars["low"], bars["close"])
        bar: tuple[float, ...] = (101.0, 99.0, 100.0)
    else:
        stream = ms.anchored_vwap(*avwap_inputs(bars, times))
        bar = (101.0, 99.0, 100.0, 5.0, float(times[-1]))
    benchmark.pedantic(stream.update, args=bar, rounds=200, iterations=1000, warmup_rounds=5)
    per_update_s = benchmark.stats.stats.min  # per call: pytest-benchmark divides by iterations
    assert per_update_s <= 1e-6, f"{name} update {per_update_s * 1e9:.0f} ns"
