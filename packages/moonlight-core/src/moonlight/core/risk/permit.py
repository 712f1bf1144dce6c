"""Permit: trade an instrument only while its payout lies inside the configured window.

``permit_min_pct ≤ payout_pct ≤ permit_max_pct`` (both ends inclusive). A payout that
is unknown (None) or not a number is refused: no payout, no price for the risk taken.
"""

from __future__ import annotations

import math

from moonlight.core.risk.decision import ALLOW, GuardDecision, ReasonCode, Scope, block
from moonlight.core.risk.request import DecisionRequest


class PermitRule:
    """The payout window check; cheap, stateless, first in the chain."""

    name = "permit"

    def __init__(self, permit_min_pct: float, permit_max_pct: float) -> None:
        if not 0.0 <= permit_min_pct <= permit_max_pct:
            raise ValueError(
                f"permit window must satisfy 0 <= min <= max, got"
                f" [{permit_min_pct}, {permit_max_pct}]"
            )
        self.permit_min_pct = permit_min_pct
        self.permit_max_pct = permit_max_pct

    def check(self, request: DecisionRequest) -> GuardDecision:
        """Allow when the payout is known and inside the window, else block with why."""
        payout = request.payout_pct
        if payout is None or math.isnan(payout):
            return block(
                ReasonCode.PAYOUT_UNKNOWN,
                Scope.DECISION,
                request.instrument,
                f"no payout known for {request.instrument}",
            )
        if payout < self.permit_min_pct:
            return block(
                ReasonCode.PAYOUT_BELOW_PERMIT,
                Scope.DECISION,
                request.instrument,
                f"payout {payout}% < permit_min {self.permit_min_pct}%",
            )
        if payout > self.permit_max_pct:
            return block(
                ReasonCode.PAYOUT_ABOVE_PERMIT,
                Scope.DECISION,
                request.instrument,
                f"payout {payout}% > permit_max {self.permit_max_pct}%",
            )
        return ALLOW
