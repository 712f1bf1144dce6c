"""Why an Olymp order is refused, as stable reason codes (``Rejected.code``).

Two sources:

* **Before sending.** A stake outside the broker's per-currency limits (the e:75 table)
  is refused locally with ``stake_below_broker_min`` / ``stake_above_broker_max``, the
  codes the risk layer's sizing clamp uses, so the operator sees one vocabulary whether
  the clamp or the connector caught it. A currency the table does not list has no
  usable limits: its orders are refused (fail closed), never sized against invented ones.
* **From the broker.** An e:23 reply with ``status: "cancel"`` or an ``err`` names its
  reason somewhere in the deal object (the field is not documented: brief 4.6, 4.9); the
  reason becomes the code ``broker_<reason>`` (e.g. ``broker_amount_limit``), kept in the
  order's stored reason, metrics and alarms instead of a bare "cancelled". Reasons that
  are not a short identifier (free text, markup) fall back to ``broker_cancelled`` so a
  hostile reply cannot mint unbounded metric labels; the text stays in the message.
"""

from __future__ import annotations

import math
import re
from typing import Any

from moonlight.core.connectors.contract import Rejected

STAKE_BELOW_MIN = "stake_below_broker_min"
STAKE_ABOVE_MAX = "stake_above_broker_max"
BROKER_CANCELLED = "broker_cancelled"
#: Where a cancelled deal may carry its reason (unverified field names, most likely first).
REASON_FIELDS = ("reason", "cancel_reason", "error", "err", "code", "message")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def stake_refusal(stake: float, low: float, high: float, currency: str) -> Rejected | None:
    """The refusal of ``stake`` against the limits ``[low, high]``, or None when inside."""
    if math.isnan(low) or not stake >= low:
        return Rejected(
            f"stake {stake:g} {currency} below the broker's minimum {low:g}"
            " (e:75 limits); not sent",
            code=STAKE_BELOW_MIN,
        )
    if math.isnan(high) or not stake <= high:
        return Rejected(
            f"stake {stake:g} {currency} above the broker's maximum {high:g}"
            " (e:75 limits); not sent",
            code=STAKE_ABOVE_MAX,
        )
    return None


def cancel_reason(item: Any) -> str | None:
    """The reason a cancelled deal object names, if it names one."""
    if not isinstance(item, dict):
        return None
    for name in REASON_FIELDS:
        value = item.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


def reason_code(reason: str | None) -> str:
    """``broker_<reason>`` for an identifier-like reason, else ``broker_cancelled``."""
    slug = (reason or "").strip().lower().replace("-", "_").replace(" ", "_")
    return f"broker_{slug}" if _IDENTIFIER.match(slug) else BROKER_CANCELLED


def broker_refusal(what: str, reason: str | None) -> Rejected:
    """A broker's refusal (cancel status or ``err``) with its reason code."""
    said = f" ({reason})" if reason else " (no reason given)"
    return Rejected(f"{what}{said}", code=reason_code(reason))
