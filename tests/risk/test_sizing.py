"""Sizing policies and the stake clamp, including the Kelly-lite property test."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from moonlight.core.risk.decision import ReasonCode
from moonlight.core.risk.sizing.clamp import clamp_stake
from moonlight.core.risk.sizing.fixed import FixedStake, FixedStakeConfig
from moonlight.core.risk.sizing.fraction import FractionOfBalance, FractionOfBalanceConfig
from moonlight.core.risk.sizing.kelly import KellyLite, KellyLiteConfig, kelly_fraction
from tests.risk.conftest import make_request


def test_fixed_stake() -> None:
    policy = FixedStake(FixedStakeConfig(stake_amount=2.5))
    assert policy.stake(make_request()) == 2.5
    assert policy.stake(make_request(balance=0.0)) == 2.5  # the clamp handles the balance


def test_fraction_of_balance() -> None:
    policy = FractionOfBalance(FractionOfBalanceConfig(fraction_of_balance=0.02))
    assert policy.stake(make_request(balance=1234.0)) == pytest.approx(24.68)
    assert policy.stake(make_request(balance=-5.0)) == 0.0


def test_kelly_fraction_formula() -> None:
    # p = 0.6, b = 1.0: f* = (0.6 - 0.4) / 1 = 0.2
    assert kelly_fraction(0.6, 100.0) == pytest.approx(0.2)
    # p = 0.6, b = 0.8: f* = (0.48 - 0.4) / 0.8 = 0.1
    assert kelly_fraction(0.6, 80.0) == pytest.approx(0.1)
    assert kelly_fraction(0.5, 100.0) == 0.0  # exactly break-even
    assert kelly_fraction(0.4, 100.0) == 0.0  # negative edge
    assert kelly_fraction(0.9, 0.0) == 0.0  # no payout


def test_kelly_lite_stake_fraction_and_cap() -> None:
    policy = KellyLite(KellyLiteConfig(kelly_fraction=0.25, max_fraction_of_balance=0.5))
    # f* = 0.2, quarter Kelly = 0.05 of 1000
    assert policy.stake(make_request(p_hat=0.6, payout_pct=100.0)) == pytest.approx(50.0)
    capped = KellyLite(KellyLiteConfig(kelly_fraction=1.0, max_fraction_of_balance=0.02))
    assert capped.stake(make_request(p_hat=0.6, payout_pct=100.0)) == pytest.approx(20.0)
    assert policy.stake(make_request(p_hat=0.6, payout_pct=None)) == 0.0
    assert policy.stake(make_request(p_hat=0.6, balance=0.0)) == 0.0


@pytest.mark.parametrize(
    "params",
    [{"kelly_fraction": 0}, {"kelly_fraction": 1.5}, {"max_fraction_of_balance": 0}, {"x": 1}],
)
def test_kelly_lite_config_is_validated(params: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        KellyLiteConfig.model_validate(params)


payouts = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)
probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
balances = st.floats(min_value=0.0, max_value=1e9, allow_nan=False)
fractions = st.floats(min_value=1e-6, max_value=1.0, allow_nan=False)


@settings(max_examples=500, deadline=None)
@given(p_hat=probabilities, payout_pct=payouts, balance=balances, k=fractions, cap=fractions)
def test_kelly_lite_property(
    p_hat: float, payout_pct: float, balance: float, k: float, cap: float
) -> None:
    """Never stakes at or below break-even; never above its cap or the balance —
    neither as proposed nor after the clamp."""
    policy = KellyLite(KellyLiteConfig(kelly_fraction=k, max_fraction_of_balance=cap))
    request = make_request(
        p_hat=p_hat,
        payout_pct=payout_pct,
        balance=balance,
        account_max_stake=1e12,
        max_stake=None,
        min_stake=None,
    )
    proposed = policy.stake(request)
    stake, reason = clamp_stake(proposed, request)
    b = payout_pct / 100.0
    if b <= 0.0 or p_hat <= 1.0 / (1.0 + b):
        assert proposed == 0.0
        assert stake == 0.0 and reason is ReasonCode.STAKE_ZERO
    assert 0.0 <= proposed <= cap * balance
    assert proposed <= balance
    assert 0.0 <= stake <= proposed


@settings(max_examples=300, deadline=None)
@given(
    proposed=st.floats(min_value=0.0, max_value=1e7, allow_nan=False),
    balance=balances,
    account_max=st.floats(min_value=0.01, max_value=1e6),
    instrument_max=st.none() | st.floats(min_value=0.01, max_value=1e6),
    instrument_min=st.none() | st.floats(min_value=0.01, max_value=100.0),
    step=st.none() | st.sampled_from([0.01, 0.1, 1.0, 0.05]),
)
def test_clamp_never_exceeds_any_limit(
    proposed: float,
    balance: float,
    account_max: float,
    instrument_max: float | None,
    instrument_min: float | None,
    step: float | None,
) -> None:
    request = make_request(
        balance=balance,
        account_max_stake=account_max,
        max_stake=instrument_max,
        min_stake=instrument_min,
        stake_step=step,
    )
    stake, reason = clamp_stake(proposed, request)
    if reason is not None:
        assert stake == 0.0
        return
    assert 0.0 < stake <= proposed
    assert stake <= balance and stake <= account_max
    assert instrument_max is None or stake <= instrument_max
    assert instrument_min is None or stake >= instrument_min
    if step is not None:
        assert math.isclose(round(stake / step), stake / step, abs_tol=1e-6)


def test_clamp_cases() -> None:
    request = make_request(balance=50.0, account_max_stake=30.0, max_stake=20.0, min_stake=1.0)
    assert clamp_stake(100.0, request) == (20.0, None)  # instrument max
    assert clamp_stake(10.0, request) == (10.0, None)  # untouched
    assert clamp_stake(0.5, request) == (0.0, ReasonCode.STAKE_BELOW_BROKER_MIN)
    assert clamp_stake(0.0, request) == (0.0, ReasonCode.STAKE_ZERO)
    assert clamp_stake(math.nan, request) == (0.0, ReasonCode.STAKE_ZERO)
    poor = make_request(balance=0.5, account_max_stake=30.0, min_stake=1.0)
    assert clamp_stake(10.0, poor) == (0.0, ReasonCode.STAKE_BELOW_BROKER_MIN)
    stepped = make_request(stake_step=0.1, min_stake=None)
    assert clamp_stake(0.3, stepped) == (0.3, None)
    assert clamp_stake(0.39, stepped) == (0.3, None)  # rounded down, never up
    assert clamp_stake(0.05, stepped) == (0.0, ReasonCode.STAKE_ZERO)
