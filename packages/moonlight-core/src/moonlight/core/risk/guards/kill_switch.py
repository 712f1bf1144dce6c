"""Kill-switch: stop all trading, or one account's, until a person re-arms it.

Engaging is allowed to anyone — an operator, the API, or the engine itself (for example
on a storage fault). Re-arming has no automatic path: no timer, no result, no restart
lifts it; only :meth:`KillSwitch.re_arm` with the name of a person does, and that name is
stored as ``updated_by``. Names starting with ``moonlight`` (the engine's own identity)
are refused.

Persisted under ``killswitch:global`` and ``killswitch:account:<account id>``. Engaging
changes memory first, then writes (a failed write still leaves trading stopped);
re-arming writes first, then changes memory (a failed write leaves it engaged).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from moonlight.core.risk.decision import ALLOW, GuardDecision, ReasonCode, Scope, block
from moonlight.core.risk.guards.base import SYSTEM_ACTOR, Guard, GuardContext
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.state_store import dump_time, load_time
from moonlight.core.risk.trading_state import GuardStatus, TradingEffect

KEY_PREFIX = "killswitch:"
GLOBAL_KEY = "killswitch:global"
ACCOUNT_KEY_PREFIX = "killswitch:account:"


class KillSwitchConfig(BaseModel):
    """The kill-switch has no parameters: it is engaged and re-armed at run time."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ReArmRefused(PermissionError):
    """Re-arming was attempted without a person's name (or by the engine itself)."""


@dataclass(frozen=True, slots=True)
class Engagement:
    """Why and by whom a kill-switch was engaged."""

    reason: str
    by: str
    at: datetime


class KillSwitch(Guard):
    """Global and per-account kill-switches, persisted, re-armed only by a person."""

    name = "kill_switch"

    def __init__(self, config: KillSwitchConfig, *, context: GuardContext) -> None:
        self.config = config
        self._context = context
        self._global: Engagement | None = None
        self._accounts: dict[str, Engagement] = {}
        for key, value in context.store.load_prefix(KEY_PREFIX).items():
            engagement = _load_engagement(value, fallback_at=context.now())
            if engagement is None:
                continue
            if key == GLOBAL_KEY:
                self._global = engagement
            elif key.startswith(ACCOUNT_KEY_PREFIX):
                self._accounts[key[len(ACCOUNT_KEY_PREFIX) :]] = engagement

    # ------------------------------------------------------------------ hot path

    def check(self, request: DecisionRequest, now: datetime) -> GuardDecision:
        """Block while the global switch or the account's switch is engaged."""
        if self._global is not None:
            return block(
                ReasonCode.KILL_SWITCH_GLOBAL,
                Scope.GLOBAL,
                "*",
                f"global kill-switch engaged by {self._global.by}: {self._global.reason}",
            )
        engagement = self._accounts.get(request.account_id)
        if engagement is not None:
            return block(
                ReasonCode.KILL_SWITCH_ACCOUNT,
                Scope.ACCOUNT,
                request.account_id,
                f"kill-switch engaged by {engagement.by}: {engagement.reason}",
            )
        return ALLOW

    # ------------------------------------------------------------------ operators

    def engage(self, account_id: str | None = None, *, by: str, reason: str) -> bool:
        """Engage the global switch (``account_id`` None) or one account's.

        Returns False when it was already engaged (the first engagement is kept).
        """
        if self.engagement(account_id) is not None:
            return False
        engagement = Engagement(reason=reason, by=by, at=self._context.now())
        if account_id is None:
            self._global = engagement
        else:
            self._accounts[account_id] = engagement
        self._context.store.save(
            _key(account_id),
            {
                "engaged": True,
                "reason": reason,
                "by": by,
                "at": dump_time(engagement.at),
            },
            updated_by=by,
        )
        return True

    def re_arm(self, account_id: str | None = None, *, operator: str) -> bool:
        """Lift the global switch or one account's; ``operator`` is the person's name.

        Returns False when it was not engaged. Raises :class:`ReArmRefused` for an empty
        name or the engine's own identity.
        """
        person = operator.strip()
        if not person or person.lower().startswith(SYSTEM_ACTOR):
            raise ReArmRefused(
                f"the kill-switch is re-armed only by a person; {operator!r} is not accepted"
            )
        engagement = self.engagement(account_id)
        if engagement is None:
            return False
        self._context.store.save(
            _key(account_id),
            {
                "engaged": False,
                "reason": engagement.reason,
                "by": engagement.by,
                "at": dump_time(engagement.at),
                "re_armed_by": person,
                "re_armed_at": dump_time(self._context.now()),
            },
            updated_by=person,
        )
        if account_id is None:
            self._global = None
        else:
            self._accounts.pop(account_id, None)
        return True

    def engagement(self, account_id: str | None = None) -> Engagement | None:
        """The global engagement (``account_id`` None) or that account's, if engaged."""
        return self._global if account_id is None else self._accounts.get(account_id)

    # ------------------------------------------------------------------ state

    def statuses(self, account_id: str, now: datetime) -> list[GuardStatus]:
        """HALT for the global switch and for the account's switch, when engaged."""
        found = []
        if self._global is not None:
            found.append(_status(ReasonCode.KILL_SWITCH_GLOBAL, Scope.GLOBAL, "*", self._global))
        engagement = self._accounts.get(account_id)
        if engagement is not None:
            found.append(
                _status(ReasonCode.KILL_SWITCH_ACCOUNT, Scope.ACCOUNT, account_id, engagement)
            )
        return found


def _key(account_id: str | None) -> str:
    return GLOBAL_KEY if account_id is None else f"{ACCOUNT_KEY_PREFIX}{account_id}"


def _load_engagement(value: dict[str, Any], *, fallback_at: datetime) -> Engagement | None:
    """The stored engagement; a damaged record that says engaged stays engaged."""
    if not value.get("engaged"):
        return None
    return Engagement(
        reason=str(value.get("reason", "")),
        by=str(value.get("by", "")),
        at=load_time(value.get("at")) or fallback_at,
    )


def _status(reason: ReasonCode, scope: Scope, key: str, engagement: Engagement) -> GuardStatus:
    return GuardStatus(
        guard=KillSwitch.name,
        effect=TradingEffect.HALT,
        reason=reason,
        scope=scope,
        scope_key=key,
        until=None,
        detail=f"engaged by {engagement.by} at {engagement.at.isoformat()}: {engagement.reason}",
    )
