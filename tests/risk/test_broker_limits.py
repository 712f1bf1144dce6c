"""Stakes stay within the broker's limits for the instrument: clamped down, or refused.

Issue 13: Olymp's stake limits were never seen, so stakes under the broker's minimum were
sent and cancelled by the broker. The risk chain now refuses them before anything is sent
(``stake_below_broker_min``), clamps stakes above the broker's maximum down to it, fails
closed on a limit that is not a number, and counts every refusal in
``guard_reject_total{reason}``.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from moonlight.core.config.models import RiskConfig
from moonlight.core.plugins import build_plugin_host
from moonlight.core.risk.builder import build_risk_manager
from moonlight.core.risk.decision import ReasonCode
from moonlight.core.risk.sizing.clamp import clamp_stake
from moonlight.core.risk.state_store import MemoryGuardStateStore
from moonlight.core.telemetry.metrics import EngineMetrics
from tests.risk.conftest import Clock, make_request

money = st.floats(min_value=0.01, max_value=10_000.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    proposed=money,
    balance=money,
    account_max=money,
    broker_min=money,
    broker_max=money,
)
def test_a_stake_is_within_the_broker_limits_or_refused_below_the_minimum(
    proposed: float, balance: float, account_max: float, broker_min: float, broker_max: float
) -> None:
    request = make_request(
        balance=balance, account_max_stake=account_max, min_stake=broker_min, max_stake=broker_max
    )
    stake, reason = clamp_stake(proposed, request)
    best = min(proposed, account_max, broker_max, balance)  # the most any limit allows
    if best >= broker_min:
        assert (stake, reason) == (best, None)
        assert broker_min <= stake <= broker_max
    else:  # never raised to the minimum: that would stake more than a limit allows
        assert (stake, reason) == (0.0, ReasonCode.STAKE_BELOW_BROKER_MIN)


def test_above_the_broker_maximum_the_stake_is_clamped_down() -> None:
    request = make_request(account_max_stake=500.0, max_stake=30.0, min_stake=1.0)
    assert clamp_stake(250.0, request) == (30.0, None)


def test_below_the_broker_minimum_the_decision_is_refused() -> None:
    request = make_request(min_stake=5.0)
    assert clamp_stake(2.0, request) == (0.0, ReasonCode.STAKE_BELOW_BROKER_MIN)
    # the account's own cap below the broker's minimum refuses too (never raised)
    capped = make_request(account_max_stake=3.0, min_stake=5.0)
    assert clamp_stake(50.0, capped) == (0.0, ReasonCode.STAKE_BELOW_BROKER_MIN)


@pytest.mark.parametrize(
    ("broker_min", "broker_max", "reason"),
    [
        (math.nan, 100.0, ReasonCode.STAKE_BELOW_BROKER_MIN),
        (1.0, math.nan, ReasonCode.STAKE_ABOVE_BROKER_MAX),
        (1.0, 0.0, ReasonCode.STAKE_ABOVE_BROKER_MAX),
        (1.0, -5.0, ReasonCode.STAKE_ABOVE_BROKER_MAX),
    ],
)
def test_a_broker_limit_that_is_not_a_number_fails_closed(
    broker_min: float, broker_max: float, reason: ReasonCode
) -> None:
    request = make_request(min_stake=broker_min, max_stake=broker_max)
    assert clamp_stake(10.0, request) == (0.0, reason)


def test_an_unlimited_broker_maximum_is_no_limit() -> None:
    assert clamp_stake(10.0, make_request(max_stake=math.inf)) == (10.0, None)


def test_refusals_are_counted_in_guard_reject_total_by_reason(clock: Clock) -> None:
    """The engine's wiring: the manager's ``on_reject`` feeds ``guard_reject_total``."""
    registry = build_plugin_host(environ={"MOONLIGHT_DISABLE_PLUGINS": "*"}).registry
    config = RiskConfig.model_validate(
        {"sizing": {"policy": "fixed", "params": {"stake_amount": 2.0}}},
        context={"registry": registry},
    )
    metrics = EngineMetrics(process_metrics=False)
    manager = build_risk_manager(
        config,
        registry,
        store=MemoryGuardStateStore(),
        now=clock,
        on_reject=lambda _request, verdict: metrics.guard_rejected(
            verdict.reason.value if verdict.reason else "unknown"
        ),
    )
    refused = [manager.decide(make_request(min_stake=5.0)) for _ in range(3)]
    assert {(d.allowed, d.rule, d.reason) for d in refused} == {
        (False, "sizing", ReasonCode.STAKE_BELOW_BROKER_MIN)
    }
    allowed = manager.decide(make_request(min_stake=1.0, max_stake=1.5))
    assert (allowed.allowed, allowed.stake, allowed.raw_stake) == (True, 1.5, 2.0)
    labels = {"reason": "stake_below_broker_min"}
    assert metrics.value("guard_reject_total", labels) == 3.0
    assert manager.reject_counts == {ReasonCode.STAKE_BELOW_BROKER_MIN: 3}
