"""``report.html`` and ``summary.json``: what a run produced, readable offline.

The HTML file is self-contained -- inline CSS, inline SVG charts from
:mod:`moonlight.core.backtest.svg`, no script, no font or stylesheet from a network --
so it opens from a file, an e-mail or an air-gapped machine. Charts:

* equity curve (balance after each settled trade) and drawdown below its running peak;
* win rate by hour of the day (UTC, of the decision) and by instrument, each with the
  break-even win rate as a dashed line;
* the reliability diagram of p̂ (mean p̂ per bin against the observed win frequency,
  point size by count, the diagonal is perfect calibration) and the p̂ histogram.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from moonlight.core.backtest import svg
from moonlight.core.backtest.summary import drawdown, equity_curve
from moonlight.core.backtest.trades import TradeLog
from moonlight.core.ensemble.reliability import reliability_table

#: The order and labels of the summary table.
SUMMARY_ROWS: tuple[tuple[str, str], ...] = (
    ("bars", "Bars"),
    ("trades", "Trades"),
    ("wins", "Wins"),
    ("losses", "Losses"),
    ("pushes", "Pushes"),
    ("aborts", "Aborts"),
    ("open", "Open at the end"),
    ("win_rate", "Win rate"),
    ("breakeven_win_rate", "Break-even win rate"),
    ("expectancy_per_trade", "Expectancy per trade"),
    ("pnl", "PnL"),
    ("roi", "ROI (PnL / staked)"),
    ("return_on_balance", "Return on starting balance"),
    ("max_drawdown", "Max drawdown"),
    ("max_drawdown_pct", "Max drawdown (of peak)"),
    ("brier", "Brier score of p̂"),
    ("ece", "ECE of p̂"),
    ("bars_per_second", "Bars per second"),
)
_FRACTIONS = frozenset(
    {"win_rate", "breakeven_win_rate", "roi", "return_on_balance", "max_drawdown_pct"}
)

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#111827}
h1{font-size:22px;margin:0 0 4px} .sub{color:#6b7280;margin:0 0 18px}
table.summary{border-collapse:collapse;margin-bottom:20px}
table.summary td{padding:3px 12px;border-bottom:1px solid #e5e7eb}
table.summary td.v{text-align:right;font-variant-numeric:tabular-nums}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:18px}
svg.chart{width:100%;height:auto;background:#fff;border:1px solid #e5e7eb;border-radius:6px}
.chart-title{font-size:14px;font-weight:600;fill:#111827}
.tick{font-size:11px;fill:#4b5563} .empty{font-size:13px;fill:#6b7280}
.axis{stroke:#6b7280;stroke-width:1} .grid{stroke:#f3f4f6;stroke-width:1}
.reference{stroke:#dc2626;stroke-width:1.2;stroke-dasharray:5 4}
"""


def _format(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if key in _FRACTIONS:
            return f"{value * 100:.2f} %"
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _win_rates(
    keys: Sequence[str], trades: TradeLog, order: list[str]
) -> tuple[list[float | None], list[str]]:
    labels = np.asarray(list(keys), dtype=object)
    wins_mask, losses_mask = trades.mask("win"), trades.mask("lose")
    rates: list[float | None] = []
    notes: list[str] = []
    for key in order:
        mask = labels == key
        wins = int(np.count_nonzero(mask & wins_mask))
        losses = int(np.count_nonzero(mask & losses_mask))
        rates.append(wins / (wins + losses) if wins + losses else None)
        notes.append(f"{wins} won of {wins + losses}")
    return rates, notes


def charts(trades: TradeLog, summary: Mapping[str, Any], starting_balance: float) -> list[str]:
    """The report's six SVG charts, in display order."""
    times, equity = equity_curve(trades, starting_balance)
    money, _ = drawdown(equity, starting_balance)
    breakeven = summary.get("breakeven_win_rate")
    hours = [f"{datetime.fromtimestamp(ts, UTC).hour:02d}" for ts in trades.decided_ts.tolist()]
    hour_labels = [f"{h:02d}" for h in range(24)]
    by_hour, hour_notes = _win_rates(hours, trades, hour_labels)
    instruments = sorted(set(trades.instrument))
    by_instrument, instrument_notes = _win_rates(trades.instrument, trades, instruments)
    decided = trades.decided
    p = trades.p_hat[decided]
    won = trades.mask("win")[decided].astype(np.float64)
    usable = np.isfinite(p)
    table = reliability_table(p[usable], won[usable]) if usable.any() else []
    histogram_edges = np.linspace(0.0, 1.0, 21)
    all_p = trades.p_hat[np.isfinite(trades.p_hat)]
    counts, _ = np.histogram(all_p, bins=histogram_edges)
    return [
        svg.line_chart("Equity", times, equity, y_label="balance"),
        svg.line_chart(
            "Drawdown", times, -money, y_label="below peak", fill_to=0.0, color=svg.PALETTE[1]
        ),
        svg.bar_chart(
            "Win rate by hour (UTC)",
            hour_labels,
            by_hour,
            y_label="win rate",
            notes=hour_notes,
            reference=breakeven,
            reference_label="break-even win rate",
            y_max=1.0,
        ),
        svg.bar_chart(
            "Win rate by instrument",
            instruments,
            by_instrument,
            y_label="win rate",
            notes=instrument_notes,
            reference=breakeven,
            reference_label="break-even win rate",
            y_max=1.0,
            color=svg.PALETTE[2],
        ),
        svg.scatter_chart(
            "Calibration: reliability of p̂",
            [row.mean_predicted for row in table],
            [row.observed for row in table],
            [row.count for row in table],
            x_label="mean p̂ in bin",
            y_label="observed win rate",
        ),
        svg.bar_chart(
            "p̂ histogram",
            [f"{edge:.2f}" for edge in histogram_edges[:-1]],
            [float(c) for c in counts],
            y_label="orders",
            color=svg.PALETTE[3],
        ),
    ]


def render_html(
    trades: TradeLog,
    summary: Mapping[str, Any],
    *,
    title: str,
    starting_balance: float,
    details: Mapping[str, Any] | None = None,
) -> str:
    """The whole report page."""
    rows = "\n".join(
        f'<tr><td>{escape(label)}</td><td class="v">{_format(key, summary.get(key))}</td></tr>'
        for key, label in SUMMARY_ROWS
        if key in summary
    )
    extra = "".join(
        f"<li><b>{escape(str(k))}</b>: {escape(str(v))}</li>" for k, v in (details or {}).items()
    )
    figures = "\n".join(
        f"<figure>{chart}</figure>" for chart in charts(trades, summary, starting_balance)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="sub">MoonLight backtest report · generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC</p>
{verdict_html(summary)}
<table class="summary">{rows}</table>
<ul class="sub">{extra}</ul>
<div class="grid2">
{figures}
</div>
</body></html>
"""


def verdict_html(summary: Mapping[str, Any]) -> str:
    """The edge verdict as one sentence and its evidence (empty without a verdict)."""
    edge = summary.get("edge")
    if not isinstance(edge, Mapping):
        return ""
    ci = edge.get("win_rate_ci95")
    evidence = (
        f"win rate {edge['win_rate']:.2%} (95 % Wilson {ci[0]:.2%}–{ci[1]:.2%}) over"
        f" {edge['trades_counted']:,} trades against break-even"
        f" {edge['breakeven_win_rate']:.2%}"
        if ci is not None
        else "no trade to judge"
    )
    expectancy = edge.get("expectancy_ci95")
    if expectancy is not None:
        evidence += (
            f"; expectancy {edge['expectancy']:.4f} per trade"
            f" (95 % {expectancy[0]:.4f} to {expectancy[1]:.4f})"
        )
    calibration = (
        f"p̂ over all {edge['decisions_scored']:,} scored decisions:"
        f" ECE {edge['decision_ece']:.4f}, Brier {edge['decision_brier']:.4f}"
        if edge.get("decision_ece") is not None
        else "no decision with a known outcome"
    )
    return (
        f'<p class="verdict"><b>Verdict: {escape(str(edge["verdict"]))}.</b> {escape(evidence)}.'
        f" {edge['decisions']:,} decisions, {edge['decisions_traded']:,} traded"
        f" ({edge['exploration_trades']:,} exploration trades not counted);"
        f" {escape(calibration)}.</p>"
    )


def _json_ready(value: Any) -> Any:
    """Strict JSON: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_report(
    directory: Path,
    trades: TradeLog,
    summary: Mapping[str, Any],
    *,
    title: str,
    starting_balance: float,
    details: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``summary.json`` and ``report.html`` into ``directory``; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    summary_path = directory / "summary.json"
    text = json.dumps(_json_ready(summary), indent=2, allow_nan=False)
    summary_path.write_text(text + "\n", encoding="utf-8")
    report_path = directory / "report.html"
    report_path.write_text(
        render_html(
            trades, summary, title=title, starting_balance=starting_balance, details=details
        ),
        encoding="utf-8",
    )
    return summary_path, report_path
