"""What :class:`~moonlight.core.runtime.control.EngineControl` hands out: frozen snapshots.

Every value here is plain data (strings, numbers, timestamps, tuples), copied out of the
engine on its own loop in one step, so a reader on another thread — the API server —
holds a consistent picture and can never change the engine through it. Times of
trading events are the engine clock's (epoch seconds, UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class EngagementView:
    """A kill-switch engagement: why, by whom, when (engine clock, epoch seconds)."""

    reason: str
    by: str
    at_ts: float


@dataclass(frozen=True, slots=True)
class KillSwitchView:
    """The global switch (None: not engaged) and the engaged switch of each account."""

    global_engagement: EngagementView | None
    accounts: Mapping[str, EngagementView]


@dataclass(frozen=True, slots=True)
class RestrictionView:
    """One active restriction of an account: a guard's, or the executor's own halt."""

    guard: str
    effect: str
    """``halt`` (no new order) or ``reduce`` (orders restricted)."""
    reason: str
    scope: str
    scope_key: str
    until_ts: float | None
    detail: str


ACCOUNT_HALT_GUARD = "account"
"""``guard`` of the restriction that reports an engine-held account halt (mode mismatch)."""

EXECUTOR_GUARD = "executor"
"""``guard`` of the restriction that reports an executor halt (storage, auth, start-up)."""


@dataclass(frozen=True, slots=True)
class AccountView:
    """One account as the operator sees it.

    ``trading_state`` and ``trading_allowed`` come from the same restrictions — the
    guards' and the executor's halt — so they can never disagree: HALTED exactly when
    trading is not allowed.
    """

    id: str
    mode: str
    currency: str
    connector: str
    balance: float
    trading_state: str
    trading_allowed: bool
    halted_reason: str | None
    storage_healthy: bool
    restrictions: tuple[RestrictionView, ...]
    instruments: int
    instruments_age_s: float | None
    orders_submitted: int
    workers: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class WorkerView:
    """One worker (account × instrument × timeframe)."""

    label: str
    account_id: str
    instrument: str
    timeframe: str
    state: str
    paused: bool
    bars_seen: int
    decisions: int
    stale_bars: int
    failures: int
    last_bar_end_ts: float | None


@dataclass(frozen=True, slots=True)
class AccountHaltView:
    """An account the engine holds HALTED (its start failed, or its broker contradicts
    its mode), with a stable ``code`` and the reason; see ``runtime.account_halts``."""

    account_id: str
    code: str
    reason: str
    since_ts: float


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """The whole engine at one instant of its own loop."""

    started_ts: float | None
    clock_ts: float
    simulated_clock: bool
    kill_switch: KillSwitchView
    accounts: tuple[AccountView, ...]
    workers_by_state: Mapping[str, int]
    guards: tuple[str, ...]
    #: Every account held HALTED by the engine — including those that never started
    #: (they have no entry in ``accounts``).
    halted_accounts: tuple[AccountHaltView, ...] = ()

    @property
    def workers_total(self) -> int:
        return sum(self.workers_by_state.values())


@dataclass(frozen=True, slots=True)
class WorkerChange:
    """The outcome of a pause/resume command: the labels changed and the unknown ones."""

    changed: tuple[str, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResumeOutcome:
    """Which accounts trade again after a resume, and why the others could not."""

    resumed: tuple[str, ...]
    refused: Mapping[str, str] = field(default_factory=dict)
