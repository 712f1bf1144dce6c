"""The Numba risk kernel against the configured RiskManager itself, on random streams.

Both get the same candidate decisions (random times, p̂, outcomes, settlement instants)
and random risk configurations made of every built-in guard and sizing policy; the
kernel must refuse, trade and abort exactly the same candidates with the same stakes,
reasons, profits and settlement times.
"""

from __future__ import annotations

import numpy as np
import pytest

from moonlight.core.backtest.engine import settle_instant, settlement_phase_s
from moonlight.core.config.models import RiskConfig
from moonlight.core.plugins.host import PluginHost
from moonlight.core.research import kernels as k
from moonlight.core.research.risk_sim import (
    Account,
    Candidates,
    builtin_plan,
    simulate_builtin,
    simulate_exact,
)

T0 = 1_710_000_000.0  # a Saturday in March 2024 (a DST change in New York follows)


def random_risk(rng: np.random.Generator) -> RiskConfig:
    guards: list[dict[str, object]] = [{"name": "kill_switch"}]
    pool = [
        {"name": "max_open_orders", "params": {
            "max_open_per_account": int(rng.integers(1, 5)) if rng.random() < 0.8 else None,
            "max_open_per_instrument": int(rng.integers(1, 4)) if rng.random() < 0.8 else None}},
        {"name": "consecutive_losses", "params": {
            "max_consecutive_losses": int(rng.integers(1, 5)),
            "cool_down_s": float(rng.choice([60.0, 600.0, 3600.0]))}},
        {"name": "daily_loss_cap", "params": (
            {"daily_loss_cap_amount": float(rng.uniform(1, 40))} if rng.random() < 0.5
            else {"daily_loss_cap_pct": float(rng.uniform(0.01, 2.0))})},
        {"name": "circuit_breaker"},
    ]  # fmt: skip
    for index in rng.permutation(len(pool)):
        if rng.random() < 0.75:
            guards.append(pool[index])
    sizing = rng.choice(["fixed", "fraction", "kelly_lite"])
    params = {
        "fixed": {"stake_amount": float(rng.choice([1.0, 2.5, 40.0, 300.0]))},
        "fraction": {"fraction_of_balance": float(rng.choice([0.001, 0.01, 0.2]))},
        "kelly_lite": {"kelly_fraction": float(rng.uniform(0.1, 1.0)),
                       "max_fraction_of_balance": float(rng.uniform(0.01, 0.5))},
    }[str(sizing)]  # fmt: skip
    return RiskConfig(
        threshold=0.5,
        margin=0.0,
        timezone=str(rng.choice(["UTC", "America/New_York", "Asia/Kolkata"])),
        sizing={"policy": str(sizing), "params": params},
        guards=guards,
    )


def random_stream(
    rng: np.random.Generator, count: int, duration_s: float, payout_pct: float
) -> Candidates:
    """Candidates as evaluate() hands them over: p̂ already past break-even."""
    bars = np.sort(rng.choice(np.arange(20_000), size=count, replace=False))
    decide = T0 + 60.0 * (bars + 1) + 0.5
    expires = decide + duration_s
    start = T0 + settlement_phase_s(0.5)
    settle = np.array([settle_instant(e, start, 0.5) for e in expires])
    code = rng.choice([k.OUT_WIN, k.OUT_LOSE, k.OUT_PUSH, k.OUT_OPEN], size=count,
                      p=[0.47, 0.47, 0.05, 0.01]).astype(np.int8)  # fmt: skip
    settle[code == k.OUT_OPEN] = np.nan
    return Candidates(
        decide_ts=decide,
        p_hat=rng.uniform(1.0 / (1.0 + payout_pct / 100.0), 0.95, count),
        direction=rng.choice([-1, 1], count).astype(np.int8),
        outcome=code,
        settle_ts=settle,
        client_req_id=[f"acc:X:1m:{int(t)}" for t in decide],
    )


def scenario(seed: int) -> tuple[RiskConfig, Account, Candidates]:
    rng = np.random.default_rng(seed)
    risk = random_risk(rng)
    duration = float(rng.choice([60, 180, 300, 30]))
    account = Account(
        account_id="acc",
        instrument="X",
        timeframe="1m",
        payout_pct=float(rng.choice([70.0, 85.0, 92.0])),
        stake_min=float(rng.choice([0.5, 1.0, 5.0])),
        stake_max=float(rng.choice([50.0, 1000.0])),
        account_max_stake=float(rng.choice([20.0, 100.0])),
        duration_offered=bool(rng.random() < 0.9),
        starting_balance=float(rng.choice([50.0, 1000.0, 10_000.0])),
        start_ts=T0 + settlement_phase_s(0.5),
    )
    return risk, account, random_stream(rng, 600, duration, account.payout_pct)


@pytest.mark.parametrize("seed", range(40))
def test_kernel_equals_the_risk_manager(seed: int, host: PluginHost) -> None:
    risk, account, stream = scenario(seed)
    plan = builtin_plan(risk, host.registry)
    assert plan is not None
    fast = simulate_builtin(stream, account, risk, plan)
    exact = simulate_exact(stream, account, risk, host.registry)
    np.testing.assert_array_equal(fast.status, exact.status)
    np.testing.assert_array_equal(fast.stake, exact.stake)
    assert [fast.reason(i) for i in range(600)] == [exact.reason(i) for i in range(600)]
    np.testing.assert_array_equal(fast.pnl, exact.pnl)
    np.testing.assert_array_equal(fast.settled_ts, exact.settled_ts)


def test_the_random_scenarios_exercise_every_rule(host: PluginHost) -> None:
    seen: set[str] = set()
    traded = aborted = 0
    for seed in range(40):
        risk, account, stream = scenario(seed)
        plan = builtin_plan(risk, host.registry)
        assert plan is not None
        result = simulate_builtin(stream, account, risk, plan)
        traded += int(np.count_nonzero(result.status == k.TRADED))
        aborted += int(np.count_nonzero(result.status == k.ABORTED))
        seen.update(result.reason(i) for i in range(len(result.status)))
    assert traded > 1000 and aborted > 100
    assert seen >= {
        "max_open_orders_account",
        "max_open_orders_instrument",
        "consecutive_losses",
        "daily_loss_cap",
        "stake_below_broker_min",
    }


def test_unknown_components_fall_back_to_the_exact_path(host: PluginHost) -> None:
    risk = RiskConfig(guards=[{"name": "kill_switch"}])
    assert builtin_plan(risk, host.registry) is not None
    from moonlight.core.plugins import build_plugin_host
    from moonlight.core.plugins.markers import hookimpl
    from moonlight.core.plugins.specs import ComponentSpec
    from moonlight.core.risk.guards.max_open_orders import MaxOpenOrders, MaxOpenOrdersConfig

    class Lookalike(MaxOpenOrders):
        name = "lookalike"

    class Plugin:
        @hookimpl
        def moonlight_register_guards(self) -> list[ComponentSpec]:
            return [ComponentSpec("lookalike", Lookalike, "test", config_model=MaxOpenOrdersConfig)]

    other = build_plugin_host(extra_plugins=[("lookalike", Plugin())])
    custom = RiskConfig(guards=[{"name": "lookalike"}])
    assert builtin_plan(custom, other.registry) is None
