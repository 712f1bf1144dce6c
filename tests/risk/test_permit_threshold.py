"""Permit window and probability threshold: inclusive bounds, binding-bound reasons."""

from __future__ import annotations

import math

import pytest

from moonlight.core.risk.decision import ReasonCode
from moonlight.core.risk.permit import PermitRule
from moonlight.core.risk.threshold import ThresholdRule, break_even, required_p_hat
from tests.risk.conftest import make_request


@pytest.mark.parametrize(
    ("payout_pct", "reason"),
    [
        (69.99, ReasonCode.PAYOUT_BELOW_PERMIT),
        (70.0, None),  # lower bound inclusive
        (85.0, None),
        (92.0, None),  # upper bound inclusive
        (92.01, ReasonCode.PAYOUT_ABOVE_PERMIT),
        (0.0, ReasonCode.PAYOUT_BELOW_PERMIT),
        (None, ReasonCode.PAYOUT_UNKNOWN),
        (math.nan, ReasonCode.PAYOUT_UNKNOWN),
    ],
)
def test_permit_window(payout_pct: float | None, reason: ReasonCode | None) -> None:
    decision = PermitRule(70.0, 92.0).check(make_request(payout_pct=payout_pct))
    assert decision.allowed is (reason is None)
    assert decision.reason is reason


def test_permit_single_point_window() -> None:
    rule = PermitRule(80.0, 80.0)
    assert rule.check(make_request(payout_pct=80.0)).allowed
    assert not rule.check(make_request(payout_pct=79.999)).allowed
    assert not rule.check(make_request(payout_pct=80.001)).allowed


def test_permit_rejects_inverted_window() -> None:
    with pytest.raises(ValueError, match="min <= max"):
        PermitRule(90.0, 80.0)


def test_break_even_values() -> None:
    assert break_even(100.0) == 0.5
    assert break_even(0.0) == 1.0
    assert break_even(85.0) == pytest.approx(1 / 1.85)


def test_threshold_binding_bound_is_the_configured_threshold() -> None:
    # payout 100 % -> break-even 0.5, + margin 0.02 = 0.52 < threshold 0.55
    rule = ThresholdRule(threshold=0.55, margin=0.02)
    assert rule.check(make_request(payout_pct=100.0, p_hat=0.55)).allowed  # inclusive
    refused = rule.check(make_request(payout_pct=100.0, p_hat=0.5499))
    assert refused.reason is ReasonCode.P_HAT_BELOW_THRESHOLD
    assert required_p_hat(100.0, 0.55, 0.02) == 0.55


def test_threshold_binding_bound_is_break_even_plus_margin() -> None:
    # payout 60 % -> break-even 0.625, + margin 0.02 = 0.645 > threshold 0.55
    rule = ThresholdRule(threshold=0.55, margin=0.02)
    required = required_p_hat(60.0, 0.55, 0.02)
    assert required == pytest.approx(0.645)
    assert rule.check(make_request(payout_pct=60.0, p_hat=required)).allowed  # inclusive
    refused = rule.check(make_request(payout_pct=60.0, p_hat=0.64))
    assert refused.reason is ReasonCode.P_HAT_BELOW_BREAK_EVEN
    # above the threshold but below break-even: still refused, with the break-even reason
    refused = rule.check(make_request(payout_pct=60.0, p_hat=0.6))
    assert refused.reason is ReasonCode.P_HAT_BELOW_BREAK_EVEN


def test_threshold_zero_payout_never_trades() -> None:
    rule = ThresholdRule(threshold=0.5, margin=0.0)
    assert not rule.check(make_request(payout_pct=0.0, p_hat=1.0)).allowed


@pytest.mark.parametrize("p_hat", [math.nan, -0.01, 1.01, math.inf])
def test_threshold_invalid_probability(p_hat: float) -> None:
    decision = ThresholdRule(0.55, 0.02).check(make_request(p_hat=p_hat))
    assert decision.reason is ReasonCode.P_HAT_INVALID


@pytest.mark.parametrize(("threshold", "margin"), [(0.0, 0.02), (1.0, 0.02), (0.55, 0.5)])
def test_threshold_rejects_bad_settings(threshold: float, margin: float) -> None:
    with pytest.raises(ValueError):
        ThresholdRule(threshold, margin)
