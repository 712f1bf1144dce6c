"""Chart geometry: ticks cover the data with round steps; every point lands in the frame."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, strategies as st

from moonlight.console.chart import (
    MARGIN_LEFT,
    nice_ticks,
    reliability_plot,
    series_plot,
    time_ticks,
)

finite = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False)


@given(finite, finite)
def test_nice_ticks_cover_the_range_with_one_round_step(low: float, high: float) -> None:
    ticks = nice_ticks(low, high)
    assert ticks[0] <= min(low, high) + 1e-6 and ticks[-1] >= max(low, high) - 1e-6
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    step = steps[0]
    assert all(math.isclose(s, step, rel_tol=1e-6) for s in steps)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
    assert 2 <= len(ticks) <= 12


def test_nice_ticks_refuse_infinite_bounds() -> None:
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0, math.inf)


@given(st.floats(min_value=1.6e9, max_value=1.9e9), st.floats(min_value=0, max_value=2e5))
def test_time_ticks_are_round_and_inside(start: float, span: float) -> None:
    ticks = time_ticks(start, start + span)
    assert ticks and all(start <= t <= start + max(span, 1.0) for t in ticks)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else None
    assert step is None or all(t % step == 0 for t in ticks)
    assert len(ticks) <= 7


@given(st.lists(st.tuples(st.floats(1.7e9, 1.7e9 + 86400), finite), max_size=50))
def test_series_points_land_inside_the_plot(points: list[tuple[float, float]]) -> None:
    points.sort()
    plot = series_plot(points, 900, 300)
    assert len(plot.line) == len(points)
    for x, y in plot.line:
        assert plot.left - 1e-6 <= x <= plot.right + 1e-6
        assert plot.top - 1e-6 <= y <= plot.bottom + 1e-6
    labels = [t.label for t in plot.x_ticks]
    assert labels and all(len(label) in (5, 8) for label in labels)  # HH:MM or HH:MM:SS
    assert plot.y_ticks[0].position > plot.y_ticks[-1].position  # values grow upwards


def test_an_empty_series_still_has_axes_and_zero() -> None:
    plot = series_plot([], 600, 200)
    assert plot.line == () and plot.x_ticks and plot.y_ticks
    assert any(t.label == "0.00" for t in plot.y_ticks)
    with pytest.raises(ValueError, match="no room"):
        series_plot([], MARGIN_LEFT, 200)


def test_reliability_plot_puts_perfect_calibration_on_the_diagonal() -> None:
    plot = reliability_plot([(0.7, 0.7), (0.3, 0.3)], 500, 360)
    (x0, y0), (x1, y1) = plot.reference
    for x, y in plot.line:  # every point of a perfectly calibrated curve is on it
        assert math.isclose((y - y0) * (x1 - x0), (y1 - y0) * (x - x0), abs_tol=1e-6)
    assert [t.label for t in plot.x_ticks] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
