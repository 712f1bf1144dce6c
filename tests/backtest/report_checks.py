"""Checks that a report's charts really draw something (used by several tests)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

SVG = "{http://www.w3.org/2000/svg}"
CHART_TITLES = (
    "Equity",
    "Drawdown",
    "Win rate by hour (UTC)",
    "Win rate by instrument",
    "Calibration: reliability of p̂",
    "p̂ histogram",
)
REQUIRED_SUMMARY = (
    "bars", "trades", "wins", "losses", "pushes", "aborts", "win_rate", "breakeven_win_rate",
    "expectancy_per_trade", "pnl", "roi", "max_drawdown", "brier", "ece", "bars_per_second",
)  # fmt: skip


def charts(html: str) -> dict[str, ET.Element]:
    """Every inline SVG of the page, parsed as XML, by its title."""
    found = {}
    for block in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
        root = ET.fromstring(block)
        title = root.find(f"{SVG}title")
        assert title is not None and title.text
        found[title.text] = root
    return found


def points(element: ET.Element) -> list[tuple[float, float]]:
    pairs = element.attrib["points"].split()
    return [(float(a), float(b)) for a, b in (p.split(",") for p in pairs)]


def check_report(directory: Path, *, trades: int) -> dict[str, Any]:
    """summary.json is strict JSON with every figure; report.html is offline and every
    chart has its marks inside its view box. Returns the summary."""
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    for key in REQUIRED_SUMMARY:
        assert key in summary, key
    assert summary["trades"] == trades
    html = (directory / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html)
    drawn = charts(html)
    assert set(CHART_TITLES) <= set(drawn), sorted(drawn)
    for title in CHART_TITLES:
        root = drawn[title]
        width, height = (float(v) for v in root.attrib["viewBox"].split()[2:])
        marks = [
            e for e in root.iter() if e.tag in {f"{SVG}polyline", f"{SVG}rect", f"{SVG}circle"}
        ]
        assert marks, f"{title}: nothing drawn"
        for mark in marks:
            if mark.tag == f"{SVG}polyline":
                line = points(mark)
                assert len(line) >= 2
                assert all(0 <= x <= width and 0 <= y <= height for x, y in line), title
            elif mark.tag == f"{SVG}rect":
                assert float(mark.attrib["height"]) >= 0 and float(mark.attrib["width"]) > 0
            else:
                assert 0 <= float(mark.attrib["cx"]) <= width
    equity = drawn["Equity"].find(f"{SVG}polyline")
    assert equity is not None and len(points(equity)) >= min(trades, 50)
    assert len(drawn["p̂ histogram"].findall(f"{SVG}rect")) >= 1
    return summary
