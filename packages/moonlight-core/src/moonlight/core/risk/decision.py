"""The typed answers of risk rules: reason codes, scopes, and rule / overall decisions.

Every rejection carries a :class:`ReasonCode`. The code is the label of the
``guard_reject_total{reason}`` counter and is stored with the decision, so its values
are stable identifiers: add new members, never rename existing ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ReasonCode(StrEnum):
    """Why a decision was refused (or, for guards, why an account is restricted)."""

    # permit (payout window)
    PAYOUT_UNKNOWN = "payout_unknown"
    PAYOUT_BELOW_PERMIT = "payout_below_permit"
    PAYOUT_ABOVE_PERMIT = "payout_above_permit"
    # threshold (calibrated probability)
    P_HAT_INVALID = "p_hat_invalid"
    P_HAT_BELOW_THRESHOLD = "p_hat_below_threshold"
    P_HAT_BELOW_BREAK_EVEN = "p_hat_below_break_even"
    # guards
    KILL_SWITCH_GLOBAL = "kill_switch_global"
    KILL_SWITCH_ACCOUNT = "kill_switch_account"
    DAILY_LOSS_CAP = "daily_loss_cap"
    CONSECUTIVE_LOSSES = "consecutive_losses"
    MAX_OPEN_ORDERS_ACCOUNT = "max_open_orders_account"
    MAX_OPEN_ORDERS_INSTRUMENT = "max_open_orders_instrument"
    CIRCUIT_OPEN = "circuit_open"
    CIRCUIT_HALF_OPEN = "circuit_half_open"
    CIRCUIT_PROBE_IN_FLIGHT = "circuit_probe_in_flight"
    # sizing and stake limits
    STAKE_ZERO = "stake_zero"
    STAKE_BELOW_INSTRUMENT_MIN = "stake_below_instrument_min"
    """Retired: superseded by ``stake_below_broker_min`` (the same condition); no longer
    produced, kept so stored labels and existing alert rules still name a known code."""
    STAKE_BELOW_BROKER_MIN = "stake_below_broker_min"
    """The stake after every limit is below the broker's minimum for the instrument (or
    the broker's minimum is not a number): refused before anything is sent."""
    STAKE_ABOVE_BROKER_MAX = "stake_above_broker_max"
    """The broker's maximum for the instrument is not a usable limit (not a positive
    number), so no stake can be shown to be within it: refused before anything is sent."""


class Scope(StrEnum):
    """What a rule's answer applies to: the whole engine, one account, one instrument,
    or only the decision at hand (permit, threshold, sizing)."""

    GLOBAL = "global"
    ACCOUNT = "account"
    INSTRUMENT = "instrument"
    DECISION = "decision"


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """One rule's answer for one decision: allow, or block with scope, until and reason.

    ``until`` is when the block ends by itself (None: it does not — a person or an
    event such as an order closing must lift it). ``scope_key`` names the blocked
    thing: ``"*"`` for global, the account id, or ``"<account>/<instrument>"``.
    """

    allowed: bool
    reason: ReasonCode | None = None
    scope: Scope = Scope.DECISION
    scope_key: str = ""
    until: datetime | None = None
    detail: str = ""


ALLOW = GuardDecision(allowed=True)
"""The shared 'allow' answer; rules return it instead of allocating one per call."""


def block(
    reason: ReasonCode,
    scope: Scope,
    scope_key: str,
    detail: str,
    until: datetime | None = None,
) -> GuardDecision:
    """A blocking answer (a short constructor so rule modules read as one line each)."""
    return GuardDecision(False, reason, scope, scope_key, until, detail)


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The risk manager's verdict on one decision: trade ``stake`` or refuse with a reason.

    ``rule`` names the rule that refused (``permit``, ``threshold``, a guard name, or
    ``sizing``); it is empty when the decision is allowed. ``raw_stake`` is what the
    sizing policy asked for before the stake was clamped to the instrument's and the
    account's limits and the balance.
    """

    allowed: bool
    stake: float
    reason: ReasonCode | None
    rule: str
    scope: Scope
    scope_key: str
    until: datetime | None
    detail: str
    raw_stake: float
    decided_at: datetime
