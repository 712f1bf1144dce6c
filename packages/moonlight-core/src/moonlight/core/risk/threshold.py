"""Threshold: trade only when the calibrated probability beats break-even by a margin.

With the payout as a fraction ``b = payout_pct / 100``, a fixed-time contract breaks even
at ``p = 1 / (1 + b)``. The rule allows ``p̂ ≥ max(threshold, 1/(1+b) + margin)``
(inclusive). When refused, the reason names the binding bound: the configured threshold
(``p_hat_below_threshold``) or break-even plus margin (``p_hat_below_break_even``).
A p̂ outside [0, 1] or NaN is refused as ``p_hat_invalid``; a payout that is not
positive is refused as ``p_hat_below_break_even`` (no p̂ can beat it).
"""

from __future__ import annotations

from moonlight.core.risk.decision import ALLOW, GuardDecision, ReasonCode, Scope, block
from moonlight.core.risk.request import DecisionRequest


def break_even(payout_pct: float) -> float:
    """The win probability at which a contract paying ``payout_pct`` % has zero edge."""
    return 1.0 / (1.0 + payout_pct / 100.0)


def required_p_hat(payout_pct: float, threshold: float, margin: float) -> float:
    """The smallest p̂ the threshold rule accepts for this payout."""
    return max(threshold, break_even(payout_pct) + margin)


class ThresholdRule:
    """The probability check; needs a known payout (the permit rule runs first)."""

    name = "threshold"

    def __init__(self, threshold: float, margin: float) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        if not 0.0 <= margin < 0.5:
            raise ValueError(f"margin must be in [0, 0.5), got {margin}")
        self.threshold = threshold
        self.margin = margin

    def check(self, request: DecisionRequest) -> GuardDecision:
        """Allow when p̂ reaches the required probability, else block with the binding bound."""
        p_hat = request.p_hat
        if not 0.0 <= p_hat <= 1.0:  # also false for NaN
            return block(
                ReasonCode.P_HAT_INVALID,
                Scope.DECISION,
                request.instrument,
                f"p_hat {p_hat} is not a probability",
            )
        payout = request.payout_pct
        if payout is None or not payout > 0.0:  # a zero payout can never win money
            return block(
                ReasonCode.P_HAT_BELOW_BREAK_EVEN,
                Scope.DECISION,
                request.instrument,
                f"no usable payout ({payout}) to compute break-even",
            )
        floor = 1.0 / (1.0 + payout / 100.0) + self.margin
        if p_hat >= self.threshold and p_hat >= floor:
            return ALLOW
        if self.threshold >= floor:
            return block(
                ReasonCode.P_HAT_BELOW_THRESHOLD,
                Scope.DECISION,
                request.instrument,
                f"p_hat {p_hat:.4f} < threshold {self.threshold:.4f}",
            )
        return block(
            ReasonCode.P_HAT_BELOW_BREAK_EVEN,
            Scope.DECISION,
            request.instrument,
            f"p_hat {p_hat:.4f} < break-even {floor - self.margin:.4f} + margin {self.margin}",
        )
