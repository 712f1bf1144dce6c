"""Decision latency: one worker, one bar, streaming path (issue target p90 < 50 µs).

One round = what a worker does at a bar close after the candle arrived: update the
shared streaming indicators, evaluate every reference strategy through the host, the
weighted vote and Platt calibration, and the risk chain (permit, threshold, every
built-in guard, Kelly-lite sizing). Each round consumes the next real BTCUSDT minute
bar (or a seeded random walk when ../shared/data is absent), after a warm-up longer
than every strategy's, so the rules fire as they would live.

Run: ``python -m pytest benchmarks/test_decision_bench.py -m bench --benchmark-enable``.
The p90 is computed from every round's timing (pytest-benchmark reports min/median/IQR,
not percentiles) and printed with the stage breakdown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from moonlight.core.config.models import RiskConfig
from moonlight.core.ensemble.ensemble import Ensemble
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.orders import Direction
from moonlight.core.plugins import build_plugin_host
from moonlight.core.risk.builder import build_risk_manager
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.state_store import MemoryGuardStateStore
from moonlight.core.strategy.api import NONE, UP, Bar
from moonlight.core.strategy.host import StrategyGroup
from moonlight.strategies.basic._base import library_source
from moonlight.strategies.basic.plugin import STRATEGIES
from tests.support.market_data import BTCUSDT, SHARED_DATA, real_candles

pytestmark = pytest.mark.bench

P90_TARGET_S = 50e-6
ORDER_UP, ORDER_DOWN = Direction.UP, Direction.DOWN
WARMUP_BARS = 2_000
ROUNDS = 20_000
GUARDS: list[dict[str, Any]] = [
    {"name": "daily_loss_cap", "params": {"daily_loss_cap_amount": 50}},
    {"name": "consecutive_losses", "params": {"max_consecutive_losses": 3, "cool_down_s": 600}},
    {"name": "max_open_orders", "params": {"max_open_per_account": 3}},
    {"name": "circuit_breaker", "params": {}},
]


def _bars() -> list[Bar]:
    if (SHARED_DATA / BTCUSDT).exists():
        candles = real_candles(BTCUSDT).iloc[: WARMUP_BARS + ROUNDS + 100]
        columns = [candles[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
    else:
        rng = np.random.default_rng(5)
        close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, WARMUP_BARS + ROUNDS + 100)))
        open_ = np.r_[close[0], close[:-1]]
        high = np.maximum(open_, close) * 1.0005
        low = np.minimum(open_, close) * 0.9995
        columns = [open_, high, low, close, rng.lognormal(3, 1, close.size)]
    return [Bar(*values) for values in zip(*(c.tolist() for c in columns), strict=True)]


class Worker:
    """The decision path of one worker, as the runtime wires it."""

    def __init__(self) -> None:
        self.group = StrategyGroup([cls() for cls in STRATEGIES], library_source())
        self.ensemble = Ensemble([1.0] * len(STRATEGIES), Calibration(a=-2.0, b=0.0, n_samples=1))
        registry = build_plugin_host(environ={"MOONLIGHT_DISABLE_PLUGINS": "*"}).registry
        config = RiskConfig.model_validate(
            {"threshold": 0.5, "margin": 0.0, "sizing": {"policy": "kelly_lite"}, "guards": GUARDS},
            context={"registry": registry},
        )
        self.risk = build_risk_manager(config, registry, store=MemoryGuardStateStore())
        self.decisions = 0
        self.orders = 0

    def on_bar(self, bar: Bar) -> None:
        signals = self.group.on_bar(bar)
        decision = self.ensemble.decide(signals)
        if decision.direction is NONE:
            return
        self.decisions += 1
        verdict = self.risk.decide(
            DecisionRequest(
                account_id="acc1",
                instrument="BTCUSDT",
                direction=ORDER_UP if decision.direction is UP else ORDER_DOWN,
                p_hat=decision.p_hat,
                payout_pct=85.0,
                balance=1000.0,
                account_max_stake=100.0,
                min_stake=1.0,
                max_stake=500.0,
                timeframe="1m",
            )
        )
        self.orders += verdict.allowed


def _rounds(bars: list[Bar]) -> Iterator[Bar]:
    yield from bars[WARMUP_BARS:]


def _p90_us(benchmark: Any) -> float:
    data = np.asarray(benchmark.stats.stats.data)
    if hasattr(os, "getloadavg"):  # POSIX only; the figure says how busy the machine was
        benchmark.extra_info["load_average_1min"] = os.getloadavg()[0]
    return float(np.percentile(data, 90) * 1e6)


def _run(benchmark: Any, step: Callable[[Bar], None], bars: list[Bar]) -> float:
    feed = _rounds(bars)
    benchmark.pedantic(lambda: step(next(feed)), rounds=ROUNDS, iterations=1, warmup_rounds=0)
    return _p90_us(benchmark)


def test_decision_full_path(benchmark: Any) -> None:
    """Indicators + every strategy + ensemble + risk for one worker on one bar."""
    bars = _bars()
    worker = Worker()
    for bar in bars[:WARMUP_BARS]:
        worker.on_bar(bar)
    p90 = _run(benchmark, worker.on_bar, bars)
    benchmark.extra_info.update(
        {
            "p90_us": p90,
            "strategies": len(STRATEGIES),
            "decisions": worker.decisions,
            "orders": worker.orders,
            "indicators": len(worker.group.feed.needs),
        }
    )
    print(
        f"\nfull decision path: p90 {p90:.1f} µs; {len(STRATEGIES)} strategies,"
        f" {len(worker.group.feed.needs)} streaming indicators, {worker.decisions} votes"
        f" with a direction, {worker.orders} allowed by risk"
    )
    assert worker.group.hosts[0].errors == 0
    assert worker.decisions > 0 and worker.orders > 0, "the path must reach risk and sizing"
    assert p90 < P90_TARGET_S * 1e6


def test_decision_indicators_only(benchmark: Any) -> None:
    """The streaming indicator updates alone (the share of the path they take)."""
    bars = _bars()
    group = StrategyGroup([cls() for cls in STRATEGIES], library_source())
    for bar in bars[:WARMUP_BARS]:
        group.feed.update(bar)
    p90 = _run(benchmark, group.feed.update, bars)
    benchmark.extra_info["p90_us"] = p90
    print(f"\nindicator feed ({len(group.feed.needs)} streams): p90 {p90:.1f} µs")


def test_decision_without_indicators(benchmark: Any) -> None:
    """Strategies + ensemble + risk on precomputed indicator values."""
    bars = _bars()
    worker = Worker()
    snapshots = []
    for i, bar in enumerate(bars[: WARMUP_BARS + ROUNDS]):
        values = dict(worker.group.feed.update(bar))
        if i >= WARMUP_BARS:
            snapshots.append((bar, values))
    hosts = worker.group.hosts
    for host in hosts:
        host.bars_seen = WARMUP_BARS

    def step(pair: tuple[Bar, dict[str, Any]]) -> None:
        bar, values = pair
        signals = [host.on_bar(bar, values) for host in hosts]
        decision = worker.ensemble.decide(signals)
        if decision.direction is not NONE:
            worker.risk.decide(
                DecisionRequest(
                    "acc1",
                    "BTCUSDT",
                    ORDER_UP,
                    decision.p_hat,
                    85.0,
                    1000.0,
                    100.0,
                    1.0,
                    500.0,
                    None,
                    "1m",
                )
            )

    feed = iter(snapshots)
    benchmark.pedantic(lambda: step(next(feed)), rounds=ROUNDS, iterations=1, warmup_rounds=0)
    p90 = _p90_us(benchmark)
    benchmark.extra_info["p90_us"] = p90
    print(f"\nstrategies + ensemble + risk: p90 {p90:.1f} µs")
