"""Alarms the engine derives from risk: guard trips, 429 storms, payouts outside permit.

Guards decide; this module notices when an account's restrictions *change* and raises
the catalogue's alarms once per change: a kill-switch, a daily loss cap or an opened
circuit breaker is critical; a losing-streak stop is a warning; a restriction lifting
is info. A burst of rate-limited replies (``storm_count`` within ``storm_window_s``) is
a warning ``rate_limit_storm``. The alarm center de-duplicates repeats.
"""

from __future__ import annotations

from collections import deque

from moonlight.core.events import AlarmLevel
from moonlight.core.risk.decision import ReasonCode
from moonlight.core.risk.manager import RiskManager
from moonlight.core.telemetry.alarms import AlarmCenter, AlarmCode

_TRIP_ALARMS: dict[ReasonCode, tuple[AlarmLevel, str]] = {
    ReasonCode.KILL_SWITCH_GLOBAL: (AlarmLevel.CRITICAL, AlarmCode.KILL_SWITCH.value),
    ReasonCode.KILL_SWITCH_ACCOUNT: (AlarmLevel.CRITICAL, AlarmCode.KILL_SWITCH.value),
    ReasonCode.DAILY_LOSS_CAP: (AlarmLevel.CRITICAL, AlarmCode.DAILY_LOSS_CAP.value),
    ReasonCode.CIRCUIT_OPEN: (AlarmLevel.CRITICAL, AlarmCode.CIRCUIT_BREAKER_TRIP.value),
    ReasonCode.CONSECUTIVE_LOSSES: (AlarmLevel.WARNING, "consecutive_losses"),
}


class RiskAlarms:
    """Watches one account's restrictions and connector errors; raises alarms."""

    def __init__(
        self,
        account_id: str,
        risk: RiskManager,
        alarms: AlarmCenter,
        *,
        storm_count: int = 5,
        storm_window_s: float = 60.0,
    ) -> None:
        self.account_id = account_id
        self.risk = risk
        self.alarms = alarms
        self.storm_count = storm_count
        self.storm_window_s = storm_window_s
        self._active: set[ReasonCode] = set()
        self._rate_limited: deque[float] = deque()

    @property
    def any_active(self) -> bool:
        """True while a restriction this watcher alarmed on is in force."""
        return bool(self._active)

    def check(self) -> None:
        """Compare the account's restrictions with the last check; alarm on changes."""
        state = self.risk.trading_state(self.account_id)
        current = {s.reason for s in state.restrictions if s.reason in _TRIP_ALARMS}
        details = {s.reason: s.detail for s in state.restrictions}
        for reason in sorted(current - self._active):
            level, code = _TRIP_ALARMS[reason]
            self.alarms.raise_alarm(
                level,
                code,
                f"{self.account_id}: {details.get(reason) or reason.value}",
                scope=self.account_id,
            )
        for reason in sorted(self._active - current):
            _, code = _TRIP_ALARMS[reason]
            self.alarms.raise_alarm(
                AlarmLevel.INFO,
                f"{code}_cleared",
                f"{self.account_id}: {reason.value} lifted",
                scope=self.account_id,
            )
        self._active = current

    def rate_limited(self, now: float) -> None:
        """One 429 reply; a storm of them raises ``rate_limit_storm``."""
        window = self._rate_limited
        window.append(now)
        while window and window[0] < now - self.storm_window_s:
            window.popleft()
        if len(window) >= self.storm_count:
            self.alarms.raise_alarm(
                AlarmLevel.WARNING,
                AlarmCode.RATE_LIMIT_STORM.value,
                f"{self.account_id}: {len(window)} rate-limited replies in"
                f" {self.storm_window_s:g} s",
                scope=self.account_id,
            )
            window.clear()

    def outside_permit(self, instrument: str, detail: str) -> None:
        """A decision refused because the payout is outside the permit window."""
        self.alarms.raise_alarm(
            AlarmLevel.WARNING,
            AlarmCode.OUTSIDE_PERMIT.value,
            f"{self.account_id}/{instrument}: {detail}",
            scope=self.account_id,
        )
