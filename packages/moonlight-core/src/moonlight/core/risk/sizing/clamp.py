"""Limits every proposed stake: the broker's limits, the account's cap, the balance, the step.

The stake is ``min(proposed, broker max_stake, account max_stake, balance)``, rounded down
to the instrument's ``stake_step`` when it has one. The broker's minimum and maximum come
from the instrument as the connector reports it (``Instrument.stake_min`` /
``stake_max``), so nothing outside them is ever sent:

* above the broker's maximum, the stake is **clamped** down to it (staking less than the
  policy asked never breaks the policy's bound);
* below the broker's minimum, the decision is **refused** with ``stake_below_broker_min``
  -- a stake is never raised, since that would break the policy's own bound (the Kelly
  cap, the operator's fixed amount);
* a broker limit that is not a usable number fails closed: a minimum that is NaN refuses
  with ``stake_below_broker_min``, a maximum that is NaN, zero or negative with
  ``stake_above_broker_max`` (no stake can be shown to be within it);
* a proposal of zero (or not a number), or a stake that rounds to zero: ``stake_zero``.

Every refusal is counted in ``guard_reject_total{reason}`` by the risk manager's caller.
"""

from __future__ import annotations

import math

from moonlight.core.risk.decision import ReasonCode
from moonlight.core.risk.request import DecisionRequest


def clamp_stake(proposed: float, request: DecisionRequest) -> tuple[float, ReasonCode | None]:
    """The stake to place and None, or 0 and the reason no stake can be placed."""
    if not proposed > 0.0:  # also catches NaN
        return 0.0, ReasonCode.STAKE_ZERO
    broker_max = request.max_stake
    if broker_max is not None and not broker_max > 0.0:  # NaN, zero or negative
        return 0.0, ReasonCode.STAKE_ABOVE_BROKER_MAX
    stake = proposed
    if request.account_max_stake < stake:
        stake = request.account_max_stake
    if broker_max is not None and broker_max < stake:
        stake = broker_max
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
    broker_min = request.min_stake
    if broker_min is not None and not stake >= broker_min:  # also a NaN minimum
        return 0.0, ReasonCode.STAKE_BELOW_BROKER_MIN
    return stake, None
