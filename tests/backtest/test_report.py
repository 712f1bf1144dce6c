"""The report: summary.json and an offline report.html whose charts draw the run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from moonlight.core.backtest import svg
from moonlight.core.backtest.report import write_report
from moonlight.core.backtest.summary import summarize
from moonlight.core.backtest.trades import TradeLog
from tests.backtest.report_checks import charts, check_report, points

T0 = 1_704_067_200.0


def synthetic(count: int, seed: int = 1) -> TradeLog:
    rng = np.random.default_rng(seed)
    outcomes = rng.choice(
        ["win", "lose", "push", "abort", "open"], count, p=[0.5, 0.4, 0.05, 0.03, 0.02]
    )
    rows = []
    for i, outcome in enumerate(outcomes):
        stake = 2.0
        pnl = {"win": 1.7, "lose": -2.0, "push": 0.0, "abort": 0.0, "open": None}[outcome]
        rows.append(
            {
                "client_req_id": f"acc:{'EURUSD' if i % 3 else 'GBPUSD'}:1m:{int(T0) + 60 * i}",
                "instrument": "EURUSD" if i % 3 else "GBPUSD",
                "timeframe": "1m",
                "direction": 1 if i % 2 else -1,
                "decided_ts": T0 + 60 * i + 0.5,
                "stake": stake,
                "payout_pct": 85.0,
                "score": 0.3,
                "p_hat": float(rng.uniform(0.5, 0.8)),
                "outcome": str(outcome),
                "pnl": pnl,
                "entry_price": 1.0,
                "exit_price": 1.0,
                "settled_ts": None if outcome == "open" else T0 + 60 * i + 60.75,
            }
        )
    return TradeLog.from_rows(rows)


def test_summary_figures_follow_their_definitions() -> None:
    trades = synthetic(400)
    summary = summarize(trades, bars=1000, wall_s=2.0, starting_balance=1000.0)
    outcome = np.array(trades.outcome)
    wins, losses = int((outcome == "win").sum()), int((outcome == "lose").sum())
    assert summary["wins"] == wins and summary["losses"] == losses
    assert (
        summary["trades"]
        == 400
        == sum(summary[k] for k in ("wins", "losses", "pushes", "aborts", "open"))
    )
    assert summary["win_rate"] == wins / (wins + losses)
    assert math.isclose(summary["breakeven_win_rate"], 1 / 1.85)
    assert math.isclose(summary["pnl"], 1.7 * wins - 2.0 * losses)
    settled = 400 - summary["open"]
    assert math.isclose(summary["expectancy_per_trade"], summary["pnl"] / settled)
    assert summary["bars_per_second"] == 500.0
    # drawdown by brute force over the equity curve
    equity = 1000.0 + np.cumsum([p for p in trades.pnl if not np.isnan(p)])
    peaks = np.maximum.accumulate(np.r_[1000.0, equity])[1:]
    assert math.isclose(summary["max_drawdown"], float(np.max(peaks - equity)))
    assert 0.0 <= summary["ece"] <= 1.0 and 0.0 <= summary["brier"] <= 1.0


def test_report_is_offline_and_every_chart_draws(tmp_path: Path) -> None:
    trades = synthetic(3000)
    summary = summarize(trades, bars=5000, wall_s=1.0, starting_balance=1000.0)
    write_report(tmp_path, trades, summary, title="Test <report>", starting_balance=1000.0)
    checked = check_report(tmp_path, trades=3000)
    assert checked["pnl"] == summary["pnl"]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Test &lt;report&gt;" in html
    drawn = charts(html)
    assert (
        len(drawn["Win rate by instrument"].findall(f"{'{http://www.w3.org/2000/svg}'}rect")) == 2
    )


def test_an_empty_run_still_writes_a_report(tmp_path: Path) -> None:
    trades = TradeLog.empty()
    summary = summarize(trades, bars=10, wall_s=0.1, starting_balance=1000.0)
    write_report(tmp_path, trades, summary, title="nothing traded", starting_balance=1000.0)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert len(charts(html)) == 6
    assert "not enough points" in html and "no decided trade" in html
    assert '"win_rate": null' in (tmp_path / "summary.json").read_text()


def test_long_curves_are_thinned_but_keep_their_extremes() -> None:
    x = np.arange(100_000, dtype=np.float64)
    y = np.sin(x / 500.0) * 100.0
    y[54_321] = 1_000.0
    tx, ty = svg.thin(x, y, 2000)
    assert tx.size <= 2000 and ty.max() == 1_000.0 and ty.min() == y.min()
    chart = svg.line_chart("t", x, y, y_label="v")
    assert len(points(charts(chart)["t"].find("{http://www.w3.org/2000/svg}polyline"))) <= 2000  # type: ignore[arg-type]
    assert svg.nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
