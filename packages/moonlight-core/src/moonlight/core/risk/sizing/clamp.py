"""Limits every proposed stake: instrument and account maxima, the balance, the step.

The stake is ``min(proposed, instrument max_stake, account max_stake, balance)``,
rounded down to the instrument's ``stake_step`` when it has one. A stake is never raised:
if the result is below the instrument's minimum the decision is refused with
``stake_below_instrument_min`` (raising it would break the policy's own bound, such as
the Kelly cap); if it is zero or not a number, with ``stake_zero``.
"""

from __future__ import annotations

import math

from moonlight.core.risk.decision import ReasonCode
from moonlight.core.risk.request import DecisionRequest


def clamp_stake(proposed: float, request: DecisionRequest) -> tuple[float, ReasonCode | None]:
    """The stake to place and None, or 0 and the reason no stake can be placed."""
    if not proposed > 0.0:  # also catches NaN
        return 0.0, ReasonCode.STAKE_ZERO
    stake = proposed
    if request.account_max_stake < stake:
        stake = request.account_max_stake
    if request.max_stake is not None and request.max_stake < stake:
        stake = request.max_stake
    if request.balance < stake:
        stake = request.balance
    step = request.stake_step
    if step is not None and step > 0.0:
        steps = math.floor(stake / step + 1e-9)
        rounded = round(steps * step, 9)
        if rounded > stake:
            rounded = round((steps - 1) * step, 9)
        stake = rounded
    if not stake > 0.0:
        return 0.0, ReasonCode.STAKE_ZERO
    if request.min_stake is not None and stake < request.min_stake:
        return 0.0, ReasonCode.STAKE_BELOW_INSTRUMENT_MIN
    return stake, None
