"""Small SVG charts, written by hand: no plotting library, no script, no network.

Three chart shapes cover the report: :func:`line_chart` (an equity curve, optionally
filled down to a baseline for drawdowns), :func:`bar_chart` (win rate by hour or by
instrument, a histogram) and :func:`scatter_chart` (the reliability diagram, with the
diagonal). Each returns one standalone ``<svg>`` element with a ``viewBox`` (it scales
with the page), axes with ticks, and ``<title>`` tooltips; text is XML-escaped. Long
series are thinned to at most ``max_points`` by keeping each bucket's first, lowest,
highest and last point, so a 100,000-trade curve stays a small file that still shows
every extreme.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

WIDTH = 720
HEIGHT = 300
MARGIN_LEFT = 64
MARGIN_RIGHT = 16
MARGIN_TOP = 28
MARGIN_BOTTOM = 44
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c")


@dataclass(frozen=True, slots=True)
class Frame:
    """The plotting area and the data ranges mapped onto it."""

    x0: float
    x1: float
    y0: float
    y1: float

    def x(self, value: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return MARGIN_LEFT + (value - self.x0) / span * (WIDTH - MARGIN_LEFT - MARGIN_RIGHT)

    def y(self, value: float) -> float:
        span = self.y1 - self.y0 or 1.0
        inner = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
        return MARGIN_TOP + (1.0 - (value - self.y0) / span) * inner


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 × 10^k steps)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks: list[float] = []
    value = first
    while value <= high + step * 1e-9 and len(ticks) < 50:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _number(value: float) -> str:
    if abs(value) >= 1e5 or (0 < abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:,.4g}" if abs(value) >= 1000 else f"{value:.4g}"


def _time_label(ts: float, span_s: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%d" if span_s > 3 * 86_400 else "%m-%d %H:%M")


def thin(x: FloatArray, y: FloatArray, max_points: int = 2000) -> tuple[FloatArray, FloatArray]:
    """At most ``max_points`` points: per bucket the first, lowest, highest and last."""
    n = x.size
    if n <= max_points:
        return x, y
    buckets = max_points // 4
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep: list[int] = []
    for start, stop in itertools.pairwise(edges.tolist()):
        if stop <= start:
            continue
        part = y[start:stop]
        keep.extend(
            sorted({start, start + int(np.argmin(part)), start + int(np.argmax(part)), stop - 1})
        )
    index = np.asarray(keep, dtype=np.int64)
    return x[index], y[index]


def _open(title: str, label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' role="img" aria-label="{escape(label, {chr(34): "&quot;"})}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{MARGIN_LEFT}" y="18" class="chart-title">{escape(title)}</text>',
    ]


def _axes(
    frame: Frame, x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[float], y_label: str
) -> list[str]:
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    parts = [
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" class="axis"/>',
    ]
    for value in y_ticks:
        y = frame.y(value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{escape(_number(value))}</text>"
        )
    for x, label in x_ticks:
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" class="tick">'
            f"{escape(label)}</text>"
        )
    parts.append(
        f'<text x="14" y="{(top + bottom) / 2:.1f}" transform="rotate(-90 14'
        f' {(top + bottom) / 2:.1f})" text-anchor="middle" class="tick">{escape(y_label)}</text>'
    )
    return parts


def empty_chart(title: str, message: str) -> str:
    """A chart frame saying why there is nothing to draw."""
    parts = _open(title, message)
    parts.append(
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">'
        f"{escape(message)}</text></svg>"
    )
    return "\n".join(parts)


def line_chart(
    title: str,
    times: FloatArray,
    values: FloatArray,
    *,
    y_label: str,
    fill_to: float | None = None,
    color: str = PALETTE[0],
    max_points: int = 2000,
) -> str:
    """A time series as a polyline (a filled area down to ``fill_to`` when given)."""
    if times.size < 2:
        return empty_chart(title, "not enough points to draw")
    x, y = thin(np.asarray(times, np.float64), np.asarray(values, np.float64), max_points)
    low, high = float(np.min(y)), float(np.max(y))
    if fill_to is not None:
        low, high = min(low, fill_to), max(high, fill_to)
    pad = (high - low) * 0.05 or abs(high) * 0.01 or 1.0
    frame = Frame(float(x[0]), float(x[-1]), low - pad, high + pad)
    span = float(x[-1] - x[0])
    x_ticks = [(frame.x(t), _time_label(t, span)) for t in np.linspace(x[0], x[-1], 5).tolist()]
    parts = _open(title, f"{title}: {y.size} points")
    parts += _axes(frame, x_ticks, nice_ticks(frame.y0, frame.y1), y_label)
    points = " ".join(f"{frame.x(a):.1f},{frame.y(b):.1f}" for a, b in zip(x, y, strict=True))
    if fill_to is not None:
        base = frame.y(fill_to)
        area = (
            f"{frame.x(float(x[0])):.1f},{base:.1f} {points} {frame.x(float(x[-1])):.1f},{base:.1f}"
        )
        parts.append(f'<polygon points="{area}" fill="{color}" fill-opacity="0.25" stroke="none"/>')
    parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.5"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    y_label: str,
    notes: Sequence[str] | None = None,
    reference: float | None = None,
    reference_label: str = "",
    y_max: float | None = None,
    color: str = PALETTE[0],
) -> str:
    """One bar per label (None draws no bar); an optional dashed reference line."""
    if not labels:
        return empty_chart(title, "nothing to draw")
    finite = [v for v in values if v is not None and math.isfinite(v)]
    top = y_max if y_max is not None else max([*finite, reference or 0.0, 1e-12]) * 1.1
    frame = Frame(0.0, float(len(labels)), 0.0, top)
    slot = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / len(labels)
    step = max(1, math.ceil(len(labels) / 24))
    x_ticks = [(frame.x(i + 0.5), label) for i, label in enumerate(labels) if i % step == 0]
    parts = _open(title, f"{title}: {len(labels)} bars")
    parts += _axes(frame, x_ticks, nice_ticks(0.0, top), y_label)
    for i, value in enumerate(values):
        if value is None or not math.isfinite(value):
            continue
        x = frame.x(float(i)) + slot * 0.1
        y = frame.y(value)
        height = frame.y(0.0) - y
        note = f"{labels[i]}: {_number(value)}" + (f" ({notes[i]})" if notes else "")
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{height:.1f}"'
            f' fill="{color}"><title>{escape(note)}</title></rect>'
        )
    if reference is not None and math.isfinite(reference):
        y = frame.y(reference)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{WIDTH - MARGIN_RIGHT}" y2="{y:.1f}"'
            f' class="reference"><title>{escape(reference_label)}</title></line>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def scatter_chart(
    title: str,
    x: Sequence[float],
    y: Sequence[float],
    sizes: Sequence[int],
    *,
    x_label: str,
    y_label: str,
    diagonal: bool = True,
    color: str = PALETTE[0],
) -> str:
    """Points on [0, 1]² sized by count, with the y = x diagonal (a reliability diagram)."""
    if not x:
        return empty_chart(title, "no decided trade to score")
    frame = Frame(0.0, 1.0, 0.0, 1.0)
    ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    parts = _open(title, f"{title}: {len(x)} bins")
    parts += _axes(frame, [(frame.x(t), f"{t:.1f}") for t in ticks], ticks, y_label)
    parts.append(
        f'<text x="{(MARGIN_LEFT + WIDTH - MARGIN_RIGHT) / 2:.1f}" y="{HEIGHT - 8}"'
        f' text-anchor="middle" class="tick">{escape(x_label)}</text>'
    )
    if diagonal:
        parts.append(
            f'<line x1="{frame.x(0):.1f}" y1="{frame.y(0):.1f}" x2="{frame.x(1):.1f}"'
            f' y2="{frame.y(1):.1f}" class="reference"><title>perfect calibration</title></line>'
        )
    largest = max(sizes) if sizes else 1
    path = " ".join(f"{frame.x(a):.1f},{frame.y(b):.1f}" for a, b in zip(x, y, strict=True))
    parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1"/>')
    for a, b, n in zip(x, y, sizes, strict=True):
        radius = 3.0 + 9.0 * math.sqrt(n / largest)
        parts.append(
            f'<circle cx="{frame.x(a):.1f}" cy="{frame.y(b):.1f}" r="{radius:.1f}"'
            f' fill="{color}" fill-opacity="0.6"><title>{escape(f"p̂ {a:.3f}: won {b:.3f}, n={n}")}'
            "</title></circle>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
