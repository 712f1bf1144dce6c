"""Chart geometry without a UI: ticks, axis labels and pixel positions.

The views draw what these functions compute (lines on a Flutter canvas, labels as
text), so everything that can be wrong in a chart -- tick spacing, labels, scaling,
a flat or single-point series -- is tested here without a window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from moonlight.console.formatting import signed_money

MARGIN_LEFT = 72.0
MARGIN_RIGHT = 16.0
MARGIN_TOP = 12.0
MARGIN_BOTTOM = 28.0
_TIME_STEPS_S = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis tick: its pixel position along the axis and its label."""

    position: float
    label: str


@dataclass(frozen=True, slots=True)
class Plot:
    """Everything a view needs to draw one chart of ``width`` × ``height`` pixels."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    line: tuple[tuple[float, float], ...]
    reference: tuple[tuple[float, float], ...] = ()
    """A second, dashed line: zero for P&L, the diagonal for reliability."""


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2, 5 × 10ⁿ apart) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("ticks need finite bounds")
    if high < low:
        low, high = high, low
    if high - low <= 1e-6 * max(1.0, abs(low), abs(high)):  # flat: give it some height
        pad = max(abs(low) * 0.1, 1.0)
        low, high = low - pad, high + pad
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def time_ticks(start_s: float, end_s: float, count: int = 6) -> list[float]:
    """Round times (whole seconds, minutes, hours) covering [start, end], about ``count``."""
    end_s = max(end_s, start_s + 1.0)
    span = end_s - start_s
    step = next((s for s in _TIME_STEPS_S if span / s <= count), _TIME_STEPS_S[-1])
    first = math.ceil(start_s / step) * step
    return [first + i * step for i in range(int((end_s - first) // step) + 1)]


def time_label(epoch_s: float, step_s: float) -> str:
    """``08:41`` for minute steps, ``08:41:15`` below a minute (UTC)."""
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.strftime("%H:%M:%S" if step_s < 60 else "%H:%M")


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    if high == low:
        return (start + end) / 2
    return start + (value - low) / (high - low) * (end - start)


def _frame(width: float, height: float) -> tuple[float, float, float, float]:
    if width <= MARGIN_LEFT + MARGIN_RIGHT or height <= MARGIN_TOP + MARGIN_BOTTOM:
        raise ValueError(f"a chart of {width}×{height} px leaves no room to plot")
    return MARGIN_LEFT, width - MARGIN_RIGHT, MARGIN_TOP, height - MARGIN_BOTTOM


def _plot(
    width: float,
    height: float,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    *,
    x_ticks: Sequence[tuple[float, str]],
    y_ticks: Sequence[tuple[float, str]],
    line: Sequence[tuple[float, float]],
    reference: Sequence[tuple[float, float]],
) -> Plot:
    """A :class:`Plot` from data coordinates (ticks as value and label) to pixels."""
    left, right, top, bottom = _frame(width, height)

    def x(value: float) -> float:
        return _scale(value, *x_range, left, right)

    def y(value: float) -> float:
        return _scale(value, *y_range, bottom, top)

    return Plot(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        x_ticks=tuple(Tick(x(value), label) for value, label in x_ticks),
        y_ticks=tuple(Tick(y(value), label) for value, label in y_ticks),
        line=tuple((x(a), y(b)) for a, b in line),
        reference=tuple((x(a), y(b)) for a, b in reference),
    )


def series_plot(points: Sequence[tuple[float, float]], width: float, height: float) -> Plot:
    """A time series (epoch seconds, value): time axis, value axis with zero, the line.

    With no point the axes still span a default range, so an empty chart is visibly
    a chart (and says so in its caption).
    """
    times = [t for t, _ in points]
    values = [0.0, *(v for _, v in points)]
    t0, t1 = (min(times), max(times)) if times else (0.0, 60.0)
    t1 = max(t1, t0 + 60)
    y_values = nice_ticks(min(values), max(values))
    t_values = time_ticks(t0, t1)
    step = t_values[1] - t_values[0] if len(t_values) > 1 else 60.0
    return _plot(
        width,
        height,
        (t0, t1),
        (y_values[0], y_values[-1]),
        x_ticks=[(t, time_label(t, step)) for t in t_values],
        y_ticks=[(v, signed_money(v)) for v in y_values],
        line=points,
        reference=[(t0, 0.0), (t1, 0.0)],
    )


def reliability_plot(bins: Sequence[tuple[float, float]], width: float, height: float) -> Plot:
    """Observed win rate against mean p̂ per bin, on [0, 1]², with the diagonal."""
    ticks = [(i / 5, f"{i / 5:.1f}") for i in range(6)]
    return _plot(
        width,
        height,
        (0.0, 1.0),
        (0.0, 1.0),
        x_ticks=ticks,
        y_ticks=ticks,
        line=sorted(bins),
        reference=[(0.0, 0.0), (1.0, 1.0)],
    )
