"""``nox -s bench-anchors``: MoonLight against Freqtrade, NautilusTrader and backtrader.

1. Makes one virtual environment per anchor under a cache directory outside the
   repository (``--cache``, default ``$MOONLIGHT_BENCH_CACHE`` or
   ``~/.cache/moonlight-bench-anchors``) with pinned versions from PyPI (``uv``);
   NautilusTrader needs Python >= 3.12, so the anchors run on the newest 3.12+ ``uv``
   finds. An anchor whose environment cannot be made is reported as skipped, with why.
2. Installs ``benchmarks/anchors/moonlight_ema_plugin`` (the EMA cross as an outside
   plugin) into MoonLight's own environment -- the one running this script.
3. Runs every contender in a fresh process, ``--rounds`` times, the order rotated each
   round so that no contender always runs on a cooler or hotter machine (interleaved).
   Each contender warms up on 2,000 bars, then times one run over the whole BTCUSDT
   1-minute file (``common.py``).
4. Writes every round and the medians to ``docs/benchmarks/anchors.json`` and the table
   between the ``anchors`` markers of ``docs/benchmarks.md``
   (``--render-only`` regenerates the table from the JSON).

Run: ``nox -s bench-anchors`` (or ``.venv/bin/python benchmarks/anchors/run.py
--rounds 3``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: The candle file every contender runs on; ``--data`` (or ``$MOONLIGHT_BENCH_DATA``)
#: points elsewhere when the project's checkout is not beside ``shared/data``.
DATA = Path(
    os.environ.get(
        "MOONLIGHT_BENCH_DATA", ROOT.parent / "shared" / "data" / "BTCUSDT_1m_2023_binance.csv.gz"
    )
)
RESULTS = ROOT / "docs" / "benchmarks" / "anchors.json"
PAGE = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- anchors:begin (generated) -->", "<!-- anchors:end -->"
COMMAND = "nox -s bench-anchors"
#: Every contender's run may take minutes on a busy 2-core machine.
TIMEOUT_S = 1800
#: The reference every ratio divides.
REFERENCE = "moonlight-ema-plugin"


@dataclass(frozen=True, slots=True)
class Anchor:
    """A framework run in its own environment: what to install and which script runs it."""

    name: str
    requirements: tuple[str, ...]
    script: str


ANCHORS = (
    Anchor("freqtrade", ("freqtrade==2026.9",), "contender_freqtrade.py"),
    Anchor("nautilus", ("nautilus_trader==1.231.0",), "contender_nautilus.py"),
    Anchor("backtrader", ("backtrader==1.9.78.123", "pandas>=2.2"), "contender_backtrader.py"),
)
#: Row labels of the published table.
LABELS = {
    "moonlight-ema-plugin": "MoonLight event-driven backtest, EMA cross (outside plugin)",
    "moonlight-shipped-5": "MoonLight, shipped 5-strategy config (configs/config.yaml)",
    "nautilus-trader": "NautilusTrader",
    "freqtrade": "Freqtrade",
    "backtrader": "backtrader",
    "plain-python": "plain-Python loop, same bets as the MoonLight EMA cross",
}


def uv() -> str:
    """The ``uv`` next to this interpreter (MoonLight's dev environment), else on PATH."""
    local = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("uv is needed to build the anchors' environments (pip install uv)")
    return found


def interpreter(environment: Path) -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    return environment / folder / ("python.exe" if os.name == "nt" else "python")


def anchor_python() -> str | None:
    """A Python >= 3.12 for the anchors: ``$MOONLIGHT_BENCH_PYTHON``, pyenv's, or PATH's.

    Each candidate is run once to check it works (pyenv shims fail for versions not
    selected); ``None`` when there is none.
    """
    candidates = [os.environ.get("MOONLIGHT_BENCH_PYTHON", "")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        candidates += [str(v / "bin" / "python") for v in sorted(pyenv.glob("3.1[2-9]*"))]
    candidates += [shutil.which(name) or "" for name in ("python3.12", "python3.13")]
    check = "import sys; sys.exit(sys.version_info < (3, 12))"
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", check], capture_output=True, check=False)
        if done.returncode == 0:
            return candidate
    return None


def prepare(anchor: Anchor, cache: Path) -> Path | str:
    """The anchor's interpreter, its environment made if needed; or why it cannot be."""
    base = anchor_python()
    if base is None:
        return "no Python >= 3.12 found (set MOONLIGHT_BENCH_PYTHON)"
    environment = cache / anchor.name
    python = interpreter(environment)
    for command in (
        [uv(), "venv", "--allow-existing", "--python", base, str(environment)],
        [uv(), "pip", "install", "--python", str(python), *anchor.requirements],
    ):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"{' '.join(command[:3])} failed: {done.stderr.strip()[-400:]}"
    return python


def install_plugin() -> None:
    """Install the EMA cross plugin into MoonLight's environment (this interpreter)."""
    plugin = HERE / "moonlight_ema_plugin"
    command = [uv(), "pip", "install", "--python", sys.executable, str(plugin)]
    subprocess.run(command, check=True, capture_output=True, text=True)


def contenders(cache: Path) -> tuple[list[tuple[str, list[str]]], dict[str, str]]:
    """(name, command) of every runnable contender, and the skipped ones with why."""
    runnable = [
        (REFERENCE, [sys.executable, str(HERE / "contender_moonlight.py"), "ema"]),
        ("moonlight-shipped-5", [sys.executable, str(HERE / "contender_moonlight.py"), "shipped"]),
        ("plain-python", [sys.executable, str(HERE / "contender_plain.py")]),
    ]
    skipped: dict[str, str] = {}
    for anchor in ANCHORS:
        print(f"preparing {anchor.name} in {cache / anchor.name} ...", flush=True)
        python = prepare(anchor, cache)
        if isinstance(python, str):
            skipped[anchor.name] = python
        else:
            runnable.append((anchor.name, [str(python), str(HERE / anchor.script)]))
    return runnable, skipped


def run_once(command: list[str], data: Path, bars: int | None) -> dict[str, Any]:
    """Run one contender in a fresh process; its last output line is its JSON result."""
    arguments = [*command, str(data), *([str(bars)] if bars else [])]
    done = subprocess.run(
        arguments, capture_output=True, text=True, timeout=TIMEOUT_S, check=False, cwd=ROOT
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def summarise(rounds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Median figures per contender and the ratios to MoonLight's EMA cross."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for result in rounds:
        by_name.setdefault(result["contender"], []).append(result)
    summary = {}
    for name, results in by_name.items():
        summary[name] = {
            "version": results[0]["version"],
            "python": results[0]["python"],
            "trades": results[0]["trades"],
            "bars": results[0]["bars"],
            "runs": len(results),
            "bars_per_second": statistics.median(r["bars_per_second"] for r in results),
            "bars_per_cpu_second": statistics.median(r["bars_per_cpu_second"] for r in results),
            "bars_per_second_range": [
                min(r["bars_per_second"] for r in results),
                max(r["bars_per_second"] for r in results),
            ],
        }
    reference = summary.get(REFERENCE)
    for figures in summary.values():
        for key in ("bars_per_second", "bars_per_cpu_second"):
            base = reference[key] if reference else None
            figures[f"ratio_{key}"] = figures[key] / base if base else None
    return summary


def measure_all(cache: Path, rounds: int, bars: int | None, data: Path) -> dict[str, Any]:
    """Prepare, run interleaved, and return the JSON document."""
    install_plugin()
    runnable, skipped = contenders(cache)
    results = []
    for round_index in range(rounds):
        shift = round_index % len(runnable)
        for name, command in runnable[shift:] + runnable[:shift]:
            if name in skipped:
                continue
            print(f"round {round_index + 1}/{rounds}: {name} ...", flush=True)
            try:
                result = run_once(command, data, bars)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                skipped[name] = f"failed: {str(error)[-300:]}"
                print(f"  {skipped[name]}", flush=True)
                continue
            result["round"] = round_index + 1
            results.append(result)
            print(f"  {result['bars_per_second']:,.0f} bars/s", flush=True)
    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": COMMAND,
        "data": data.name,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": _load_average(),
        },
        "rounds": results,
        "summary": summarise(results),
        "skipped": skipped,
    }


def _load_average() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def table(document: dict[str, Any]) -> str:
    """The generated Markdown section (between the markers) for ``document``."""
    summary = document["summary"]
    order = sorted(summary, key=lambda name: list(LABELS).index(name) if name in LABELS else 99)
    lines = [
        BEGIN,
        "## Side by side with Freqtrade, NautilusTrader and backtrader",
        "",
        f"Generated from `docs/benchmarks/anchors.json` ({document['generated']}) by "
        f"`{document['command']}`; regenerate the table alone with "
        "`.venv/bin/python benchmarks/anchors/run.py --render-only`.",
        "",
        f"EMA 9/21 cross on `{document['data']}` ({_first(summary, 'bars'):,} bars), each "
        "contender in a fresh process, warmed up on 2,000 bars, then one timed run over the "
        f"file; {_first(summary, 'runs')} rounds interleaved (order rotated each round), "
        "medians shown. Bars/s divides the file's bar count for every contender. "
        f"Machine: {document['machine']['cpus']} CPUs shared with other jobs (load average "
        f"{_load(document)} at the end of the run), so the per-CPU-second column is the "
        "steadier per-core figure.",
        "",
        "| contender | version (Python) | trades | bars/s (wall) | bars/s per CPU s "
        "| × MoonLight (wall) | × MoonLight (CPU) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in order:
        f = summary[name]
        low, high = f["bars_per_second_range"]
        lines.append(
            f"| {LABELS.get(name, name)} | {f['version']} ({f['python']}) | {f['trades']:,} "
            f"| {f['bars_per_second']:,.0f} ({low:,.0f}–{high:,.0f}) "
            f"| {f['bars_per_cpu_second']:,.0f} | {_ratio(f['ratio_bars_per_second'])} "
            f"| {_ratio(f['ratio_bars_per_cpu_second'])} |"
        )
    for name, why in document["skipped"].items():
        lines.append(f"| {name} | not run: {why} | | | | | |")
    lines += ["", *verdicts(summary)]
    lines += [
        "",
        "Trades: the plain loop bets one bar up/down on every cross (both directions); the "
        "anchors trade long only (enter on the cross up, exit on the cross down), so they "
        "count half as many entries. MoonLight decides (and stores the decision) on every "
        "bar, but under the honest default it stakes on the exploration prior only until "
        "its walk-forward calibration has a fit, then only where p̂ clears the threshold, "
        "so it places fewer trades than the plain loop bets.",
        END,
    ]
    return "\n".join(lines)


#: Issue 17's goals: (contender, bars per CPU second at least, what is compared).
GOALS = (
    (REFERENCE, 100_000, "EMA cross ≥ 100,000 bars/s per core"),
    ("moonlight-shipped-5", 25_000, "shipped configuration ≥ 25,000 bars/s per core"),
)


def verdicts(summary: dict[str, Any]) -> list[str]:
    """One line per goal of issue 17, met or missed, from the per-CPU-second medians."""
    lines = ["Goals (per CPU second, the per-core figure):", ""]
    for name, floor, goal in GOALS:
        if name in summary:
            value = summary[name]["bars_per_cpu_second"]
            verdict = "met" if value >= floor else "**missed**"
            lines.append(f"- {goal}: {value:,.0f} — {verdict}")
    reference = summary.get(REFERENCE)
    for anchor in ("freqtrade", "nautilus-trader"):
        if reference and anchor in summary:
            ratio = reference["bars_per_cpu_second"] / summary[anchor]["bars_per_cpu_second"]
            verdict = "met" if ratio >= 10 else "**missed**"
            lines.append(f"- EMA cross ≥ 10× {LABELS[anchor]}: {ratio:.2f}× — {verdict}")
    return lines


def _first(summary: dict[str, Any], key: str) -> Any:
    return next(iter(summary.values()))[key]


def _load(document: dict[str, Any]) -> str:
    load = document["machine"]["load_average"]
    return "unknown" if load is None else " / ".join(f"{value:.1f}" for value in load)


def publish(document: dict[str, Any]) -> None:
    """Replace (or append) the generated section of ``docs/benchmarks.md``."""
    page = PAGE.read_text(encoding="utf-8")
    section = table(document)
    if BEGIN in page and END in page:
        head, rest = page.split(BEGIN, 1)
        page = head + section + rest.split(END, 1)[1]
    else:
        page = page.rstrip("\n") + "\n\n" + section + "\n"
    PAGE.write_text(page, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_cache = os.environ.get("MOONLIGHT_BENCH_CACHE")
    parser.add_argument("--cache", type=Path, default=Path(default_cache) if default_cache
                        else Path.home() / ".cache" / "moonlight-bench-anchors")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bars", type=int, help="only the first BARS bars (a quick look)")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--data", type=Path, default=DATA, help="the BTCUSDT 1m candle file")
    options = parser.parse_args()
    if options.render_only:
        publish(json.loads(RESULTS.read_text(encoding="utf-8")))
        return
    if not options.data.is_file():
        raise SystemExit(f"the benchmark needs {options.data} (the project's shared test data)")
    started = time.perf_counter()
    document = measure_all(options.cache, options.rounds, options.bars, options.data)
    RESULTS.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    publish(document)
    print(f"wrote {RESULTS} and {PAGE} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
