"""Accounts that are not trading, and why: one account's failure never stops the others.

An account whose start fails — authentication refused, broker unreachable, mode
contradicted by the broker, reconciliation impossible — is recorded HALTED with a code and
the reason, a critical alarm is raised, its connections are closed, and the engine
starts the other accounts. A running account whose broker turns out to contradict its
mode after a reconnect is recorded the same way (its executor is halted too); that
record is lifted when a later check finds the broker agreeing again (after an operator
resumed the executor).

:class:`AccountHalts` is what a status facade reads: ``engine.halts.get(account_id)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from moonlight.core.connectors.contract import AuthFailed, ConnectorError, Rejected
from moonlight.core.events import AlarmLevel
from moonlight.core.execution.reconcile_report import ReconcileError
from moonlight.core.runtime.account_mode import MODE_MISMATCH, AccountModeMismatch

log = logging.getLogger("moonlight.engine")

HALTED: Final = "HALTED"
"""The trading state reported for a halted account."""

AUTH_FAILED: Final = "auth_failed"
BROKER_UNREACHABLE: Final = "broker_unreachable"
BROKER_REFUSED: Final = "broker_refused"
RECONCILE_FAILED: Final = "reconcile_failed"

START_FAILURES: Final = (ConnectorError, ReconcileError, OSError, TimeoutError)
"""What an account's start may fail with without stopping the other accounts."""

Alarm = Callable[[AlarmLevel, str, str, str], object]
"""``alarm(level, code, message, scope)`` -- :meth:`AlarmCenter.raise_alarm` fits."""


@dataclass(frozen=True, slots=True)
class AccountHalt:
    """Why one account does not trade: a stable ``code``, the ``reason``, and since when."""

    account_id: str
    code: str
    reason: str
    since_ts: float
    state: str = HALTED


def failure_code(error: BaseException) -> str:
    """The halt code of an account start that raised ``error``."""
    if isinstance(error, AccountModeMismatch):
        return MODE_MISMATCH
    if isinstance(error, AuthFailed):
        return AUTH_FAILED
    if isinstance(error, ReconcileError):
        return RECONCILE_FAILED
    if isinstance(error, Rejected):
        return error.code or BROKER_REFUSED
    return BROKER_UNREACHABLE


class AccountHalts:
    """The halted accounts of one engine, each with its reason (read by the status API)."""

    def __init__(self, alarm: Alarm, now: Callable[[], float]) -> None:
        self._alarm = alarm
        self._now = now
        self._halts: dict[str, AccountHalt] = {}

    def halt(self, account_id: str, code: str, reason: str) -> AccountHalt:
        """Record ``account_id`` as HALTED and raise one critical alarm (not again for
        the same code: a repeated mismatch on every order would otherwise be a storm)."""
        current = self._halts.get(account_id)
        if current is not None and current.code == code:
            return current
        halt = AccountHalt(account_id, code, reason, self._now())
        self._halts[account_id] = halt
        log.critical("account %s halted (%s): %s", account_id, code, reason)
        self._alarm(
            AlarmLevel.CRITICAL, code, f"{account_id} halted: {reason}", f"acc:{account_id}"
        )
        return halt

    def lift(self, account_id: str, code: str) -> None:
        """Forget the account's halt if it is of ``code`` (its cause is gone)."""
        current = self._halts.get(account_id)
        if current is not None and current.code == code:
            del self._halts[account_id]
            log.warning("account %s: %s cleared", account_id, code)

    def start_failed(self, account_id: str, error: BaseException) -> AccountHalt:
        """Record an account whose start raised ``error``."""
        return self.halt(account_id, failure_code(error), f"not started: {error}")

    def get(self, account_id: str) -> AccountHalt | None:
        """The account's halt, or None while it is allowed to trade."""
        return self._halts.get(account_id)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._halts

    def __iter__(self) -> Iterator[AccountHalt]:
        return iter(list(self._halts.values()))

    def __len__(self) -> int:
        return len(self._halts)
