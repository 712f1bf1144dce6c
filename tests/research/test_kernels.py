"""The kernels compute exactly what the live code computes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from moonlight.core.connectors.settlement import settle_contract
from moonlight.core.ensemble.ensemble import Ensemble
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.orders import Direction
from moonlight.core.research import kernels as k
from moonlight.core.strategy.api import DOWN, NONE, UP, Signal


def test_p_hat_is_bit_identical_to_the_live_ensemble() -> None:
    rng = np.random.default_rng(11)
    scores = rng.uniform(-1, 1, 20_000)
    scores[:5] = [0.0, -0.0, 1.0, -1.0, 1e-300]
    for a, b in ((-2.5, 0.0), (-7.3, 0.41), (3.0, -1.2), (0.0, 0.0)):
        direction = np.sign(scores).astype(np.int8)
        p_up, p_hat = k.p_hat_kernel(scores, direction, a, b)
        ensemble = Ensemble([1.0], Calibration(a, b))
        for i in range(0, scores.size, 7):
            s = float(scores[i])
            side = UP if s > 0 else DOWN if s < 0 else NONE
            decision = ensemble.decide([Signal(side, abs(s), "")])
            assert p_up[i] == decision.p_up, (a, b, s)
            assert p_hat[i] == decision.p_hat, (a, b, s)


@settings(max_examples=3000, deadline=None)
@given(st.floats(min_value=-9e7, max_value=9e7, allow_nan=False))
def test_round_money_is_pythons_round(x: float) -> None:
    got = k.round_money(x)
    assert got == round(x, 8) and str(got) == str(round(x, 8))


def test_round_money_on_halfway_cases() -> None:
    values = [n * 0.5e-8 for n in range(-20_000, 20_000)] + [5e-09, -1.05e-07, -4.335e-06]
    values += [s * p / 100 for s in (1.0, 2.5, 3.3, 10.0, 0.37) for p in np.arange(50, 100, 0.1)]
    assert [k.round_money(v) for v in values] == [round(v, 8) for v in values]


@settings(max_examples=500, deadline=None)
@given(
    stake=st.floats(0.01, 5000, allow_nan=False),
    payout=st.floats(1, 200, allow_nan=False),
    outcome=st.sampled_from([k.OUT_WIN, k.OUT_LOSE, k.OUT_PUSH]),
)
def test_contract_money_is_the_settlement_rule(stake: float, payout: float, outcome: int) -> None:
    exit_price = {k.OUT_WIN: 2.0, k.OUT_LOSE: 0.5, k.OUT_PUSH: 1.0}[outcome]
    rule = settle_contract(Direction.UP, stake, payout, 1.0, exit_price)
    assert k.contract_pnl(outcome, stake, payout) == (rule.pnl, rule.credit)
