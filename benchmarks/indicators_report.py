"""Turn the indicator benchmark JSON into the markdown tables of docs/benchmarks.md.

Usage::

    python benchmarks/indicators_report.py .benchmarks/indicators.json [docs/benchmarks.md]

Pairs every MoonLight result with its TA-Lib twin (same group and indicator), computes
the ratio of medians, checks it against the issue 3 targets and rewrites only the
section between ``<!-- indicators:begin -->`` and ``<!-- indicators:end -->`` (creating
the file or the section when missing). Misses are named with the measured ratio.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEGIN = "<!-- indicators:begin -->"
END = "<!-- indicators:end -->"
COMMAND = (
    "python -m pytest benchmarks/test_indicators_bench.py -m bench --benchmark-enable "
    "--benchmark-only --benchmark-json=.benchmarks/indicators.json -p no:cacheprovider\n"
    "python benchmarks/indicators_report.py .benchmarks/indicators.json"
)
#: Rolling-window indicators where a better algorithm must beat TA-Lib at 100k bars.
WINDOW_EXTREMES = {"stoch", "willr", "aroon", "donchian"}
SUITE_P90_TARGET_S = 150e-6
STREAM_ABSOLUTE_TARGET_S = 1e-6


@dataclass(frozen=True)
class Row:
    group: str
    indicator: str
    ours_median_s: float
    ours_p90_s: float
    talib_median_s: float | None
    talib_p90_s: float | None
    ours_min_s: float = 0.0
    talib_min_s: float | None = None

    @property
    def ratio(self) -> float | None:
        """MoonLight time / TA-Lib time (below 1 = faster than TA-Lib)."""
        if self.talib_median_s is None:
            return None
        return self.ours_median_s / self.talib_median_s

    @property
    def min_ratio(self) -> float | None:
        """The same ratio on the fastest rounds: the least disturbed by other jobs."""
        if not self.talib_min_s:
            return None
        return self.ours_min_s / self.talib_min_s


def load_rows(path: Path) -> list[Row]:
    """Pair the results of one benchmark JSON by (group, indicator)."""
    data = json.loads(path.read_text())
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        if "impl" not in info:
            continue
        key = (info["group"], info["indicator"])
        found.setdefault(key, {})[info["impl"]] = {
            "median": bench["stats"]["median"],
            "min": bench["stats"]["min"],
            "p90": info.get("p90_s", bench["stats"]["median"]),
        }
    rows = []
    for (group, indicator), impls in sorted(found.items()):
        if "moonlight" not in impls:
            continue
        talib = impls.get("talib")
        rows.append(
            Row(
                group,
                indicator,
                impls["moonlight"]["median"],
                impls["moonlight"]["p90"],
                None if talib is None else talib["median"],
                None if talib is None else talib["p90"],
                impls["moonlight"]["min"],
                None if talib is None else talib["min"],
            )
        )
    return rows


def _us(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    us = seconds * 1e6
    return f"{us:,.3f}" if us < 10 else f"{us:,.1f}"


def verdict(row: Row) -> str:
    """Target met or missed, with the measured figure."""
    ratio = row.ratio
    if row.group == "suite-200":
        assert ratio is not None
        ok = ratio <= 1.5 and row.ours_p90_s < SUITE_P90_TARGET_S
        return "met" if ok else f"**missed** ({ratio:.2f}x, p90 {_us(row.ours_p90_s)} us)"
    if row.group == "bars-100k":
        assert ratio is not None
        if row.indicator in WINDOW_EXTREMES:
            return "met (faster)" if ratio < 1.0 else f"**missed** (not faster: {ratio:.2f}x)"
        return "met" if ratio <= 1.5 else f"**missed** ({ratio:.2f}x)"
    if row.group == "2d-500x200":
        assert ratio is not None
        speedup = 1.0 / ratio
        return f"met ({speedup:.1f}x faster)" if speedup >= 1.5 else f"**missed** ({speedup:.2f}x)"
    if ratio is None:  # stream without a TA-Lib twin
        ok = row.ours_median_s <= STREAM_ABSOLUTE_TARGET_S
        return "met (<= 1 us)" if ok else f"**missed** ({_us(row.ours_median_s)} us)"
    return "met" if ratio <= 2.0 else f"**missed** ({ratio:.2f}x)"


TITLES = {
    "suite-200": (
        "All TA-Lib-exact indicators back to back, 200 bars (numpy path)",
        "target <= 1.5x TA-Lib's total and p90 < 150 us",
    ),
    "bars-100k": (
        "Each indicator, 100,000 bars",
        "target <= 1.5x TA-Lib; faster than TA-Lib for stoch, willr, aroon, donchian",
    ),
    "2d-500x200": (
        "500 series x 200 bars: one 2-D call vs a Python loop of TA-Lib calls",
        "target >= 1.5x faster than the loop",
    ),
    "stream": (
        "Streaming update, one bar in steady state, vs talib.stream",
        "target <= 2x TA-Lib's update; <= 1 us for ichimoku and anchored_vwap",
    ),
}


def render(rows: list[Row], environment: str) -> str:
    lines = [
        BEGIN,
        "## Indicators (issue 3)",
        "",
        "Every MoonLight figure is measured in the same process as its TA-Lib 0.8.2 twin;",
        "the ratio is MoonLight's median over TA-Lib's (below 1 = faster) and decides the",
        "verdict; *min ratio* compares the fastest rounds, the ones least disturbed by the",
        "other jobs sharing the machine. Times in microseconds. Reproduce with:",
        "",
        "```",
        COMMAND,
        "```",
        "",
        environment,
        "",
    ]
    for group, (title, target) in TITLES.items():
        selected = [r for r in rows if r.group == group]
        if not selected:
            continue
        missed = [r for r in selected if "missed" in verdict(r)]
        lines += [f"### {title}", "", f"{target}. Missed: {len(missed)} of {len(selected)}.", ""]
        lines.append(
            "| indicator | MoonLight median | MoonLight p90 | TA-Lib median | TA-Lib p90 "
            "| ratio | min ratio | target |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for r in selected:
            ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
            low = "-" if r.min_ratio is None else f"{r.min_ratio:.2f}"
            lines.append(
                f"| {r.indicator} | {_us(r.ours_median_s)} | {_us(r.ours_p90_s)} "
                f"| {_us(r.talib_median_s)} | {_us(r.talib_p90_s)} | {ratio} | {low} "
                f"| {verdict(r)} |"
            )
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def environment_line(path: Path) -> str:
    data = json.loads(path.read_text())
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw", platform.processor() or "unknown CPU")
    return (
        f"Measured {data.get('datetime', '')[:19]} on {cpu}, "
        f"{machine.get('python_implementation', 'Python')} {machine.get('python_version', '')}"
        " (shared 2-core machine: other jobs were running, so p90s carry their noise)."
    )


def write_section(doc: Path, section: str) -> None:
    """Replace the indicator section of ``doc`` (or append it)."""
    if doc.exists():
        text = doc.read_text()
        if BEGIN in text and END in text:
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            doc.write_text(head + section + tail)
            return
        doc.write_text(text.rstrip("\n") + "\n\n" + section + "\n")
        return
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("# Benchmarks\n\n" + section + "\n")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    source = Path(argv[0])
    doc = Path(argv[1]) if len(argv) > 1 else Path("docs/benchmarks.md")
    rows = load_rows(source)
    write_section(doc, render(rows, environment_line(source)))
    missed = sum("missed" in verdict(r) for r in rows)
    print(f"{len(rows)} comparisons written to {doc}; {missed} targets missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
