"""The alarm center: every alarm is logged, stored and delivered to observers, once.

:meth:`AlarmCenter.raise_alarm` logs the alarm at the matching level (critical →
CRITICAL, warning → WARNING, info → INFO), stores it through an injectable store (the
``alarms`` table by default, see :func:`sql_alarm_store`) and hands an
:class:`~moonlight.core.events.AlarmRaised` event to every listener — typically
:func:`plugin_notifier`, which calls the ``moonlight_on_alarm`` observer hook so a
notifier plugin (Telegram, e-mail) can forward it.

Storms: an alarm identical to one emitted less than ``dedup_window_s`` ago (same level,
code, scope and message) is counted instead of emitted. When its window has passed, the
next :meth:`~AlarmCenter.raise_alarm` or :meth:`~AlarmCenter.flush` emits one summary
(``[repeated N× in 60 s] …``) if any were suppressed, so an operator learns a storm
happened without receiving every copy.

Messages are passed through the PII redactor before they are stored or delivered —
notifiers often send them to third-party services. A store or listener that fails is
logged and never stops the alarm reaching the others: a ``storage_unavailable`` alarm
cannot be stored, but it must still reach the log and the notifiers. An alarm whose
store failed is kept (up to ``MAX_UNSTORED``, oldest dropped first) and stored, in
order, before the next alarm once storage takes writes again.

This is the one alarm path: components (the executor, guards, the engine) *emit*
:class:`~moonlight.core.events.AlarmRaised` or call :meth:`AlarmCenter.raise_alarm`;
only the center logs, redacts, stores and de-duplicates — one row and one log line
per alarm.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.events import AlarmLevel, AlarmRaised
from moonlight.core.plugins.host import PluginHost
from moonlight.core.storage.repository import record_alarm
from moonlight.core.telemetry.pii import Redactor, default_redactor

log = logging.getLogger("moonlight.alarms")

AlarmStore = Callable[[AlarmRaised], None]
AlarmListener = Callable[[AlarmRaised], object]

LOG_LEVELS: Final[Mapping[AlarmLevel, int]] = {
    AlarmLevel.CRITICAL: logging.CRITICAL,
    AlarmLevel.WARNING: logging.WARNING,
    AlarmLevel.INFO: logging.INFO,
}


class AlarmCode(StrEnum):
    """Codes of the alarm catalogue (the seed's list plus what the runtime needs)."""

    KILL_SWITCH = "kill_switch"
    CIRCUIT_BREAKER_TRIP = "circuit_breaker_trip"
    DAILY_LOSS_CAP = "daily_loss_cap"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    HIGH_LATENCY = "high_latency"
    OUTSIDE_PERMIT = "outside_permit"
    RATE_LIMIT_STORM = "rate_limit_storm"
    WORKER_FAILED = "worker_failed"
    CONNECTOR_DISCONNECTED = "connector_disconnected"
    CONFIG_CHANGE = "config_change"
    WORKER_START = "worker_start"
    WORKER_STOP = "worker_stop"


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    """One catalogue entry: the level an alarm code is raised at and what it means."""

    code: AlarmCode
    level: AlarmLevel
    meaning: str


ALARM_CATALOGUE: Final[Mapping[AlarmCode, AlarmSpec]] = {
    spec.code: spec
    for spec in (
        AlarmSpec(AlarmCode.KILL_SWITCH, AlarmLevel.CRITICAL,
                  "The kill-switch was engaged (globally or for an account); trading stops."),
        AlarmSpec(AlarmCode.CIRCUIT_BREAKER_TRIP, AlarmLevel.CRITICAL,
                  "The circuit breaker opened after repeated failures; trading pauses."),
        AlarmSpec(AlarmCode.DAILY_LOSS_CAP, AlarmLevel.CRITICAL,
                  "An account reached its daily loss cap; it stops trading for the day."),
        AlarmSpec(AlarmCode.STORAGE_UNAVAILABLE, AlarmLevel.CRITICAL,
                  "Storage cannot be written; no new orders until it recovers."),
        AlarmSpec(AlarmCode.HIGH_LATENCY, AlarmLevel.WARNING,
                  "Order or decision latency above its limit."),
        AlarmSpec(AlarmCode.OUTSIDE_PERMIT, AlarmLevel.WARNING,
                  "An instrument's payout left the permit window; its workers do not trade."),
        AlarmSpec(AlarmCode.RATE_LIMIT_STORM, AlarmLevel.WARNING,
                  "A storm of HTTP 429 (rate limited) answers from a connector."),
        AlarmSpec(AlarmCode.WORKER_FAILED, AlarmLevel.WARNING,
                  "A worker raised; it restarts with backoff, the others keep trading."),
        AlarmSpec(AlarmCode.CONNECTOR_DISCONNECTED, AlarmLevel.WARNING,
                  "A connector lost its connection; it reconnects and re-subscribes."),
        AlarmSpec(AlarmCode.CONFIG_CHANGE, AlarmLevel.INFO,
                  "The configuration or a runtime override changed."),
        AlarmSpec(AlarmCode.WORKER_START, AlarmLevel.INFO, "A worker started."),
        AlarmSpec(AlarmCode.WORKER_STOP, AlarmLevel.INFO, "A worker stopped."),
    )
}  # fmt: skip


def sql_alarm_store(sessions: sessionmaker[Session]) -> AlarmStore:
    """A store that writes each alarm as a row of the ``alarms`` table."""

    def store(event: AlarmRaised) -> None:
        with sessions() as session, session.begin():
            row = record_alarm(
                session, level=event.level, code=event.code, message=event.message,
                scope=event.scope,
            )  # fmt: skip
            row.ts = event.at

    return store


def plugin_notifier(host: PluginHost) -> AlarmListener:
    """A listener that calls the ``moonlight_on_alarm`` hook of every plugin."""

    def notify(event: AlarmRaised) -> int:
        return host.notify("moonlight_on_alarm", event=event)

    return notify


@dataclass(slots=True)
class _Window:
    opened_at: float
    suppressed: int = 0


_Key = tuple[AlarmLevel, str, str, str]

MAX_UNSTORED: Final = 1_000
"""Alarms kept for a later store while storage is down (oldest dropped beyond this)."""


class AlarmCenter:
    """Raises alarms: log, store, notify — with storm de-duplication. Thread-safe."""

    def __init__(
        self,
        *,
        store: AlarmStore | None = None,
        listeners: Iterable[AlarmListener] = (),
        dedup_window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        redactor: Redactor | None = None,
    ) -> None:
        if dedup_window_s < 0:
            raise ValueError("dedup_window_s must not be negative")
        self.store = store
        self.dedup_window_s = dedup_window_s
        self.clock = clock
        self.redactor = redactor or default_redactor()
        self.emitted = 0
        self.suppressed = 0
        self.store_failures = 0
        self._listeners = list(listeners)
        self._unstored: deque[AlarmRaised] = deque(maxlen=MAX_UNSTORED)
        self._windows: dict[_Key, _Window] = {}
        self._lock = threading.Lock()

    def subscribe(self, listener: AlarmListener) -> None:
        """Also deliver every future alarm to ``listener`` (e.g. the WebSocket hub)."""
        with self._lock:
            self._listeners.append(listener)

    def raise_alarm(
        self, level: AlarmLevel | str, code: str, message: str, scope: str = "global"
    ) -> AlarmRaised | None:
        """Raise an alarm; returns the event, or None when suppressed as a duplicate."""
        level = AlarmLevel(level)
        key: _Key = (level, code, scope, message)
        now = self.clock()
        with self._lock:
            pending = self._expire(now)
            window = self._windows.get(key)
            if window is not None:
                window.suppressed += 1
                self.suppressed += 1
                event = None
            else:
                self._windows[key] = _Window(now)
                event = self._event(level, code, message, scope, now)
        for summary in pending:
            self._emit(summary)
        if event is not None:
            self._emit(event)
        return event

    def raise_catalogued(
        self, code: AlarmCode, message: str, scope: str = "global"
    ) -> AlarmRaised | None:
        """Raise a catalogue alarm at the catalogue's level for ``code``."""
        return self.raise_alarm(ALARM_CATALOGUE[code].level, code.value, message, scope)

    def flush(self) -> list[AlarmRaised]:
        """Emit the summaries of storm windows that have closed; returns them."""
        with self._lock:
            pending = self._expire(self.clock())
        for summary in pending:
            self._emit(summary)
        return pending

    def pending_duplicates(self) -> int:
        """Duplicates counted in windows that are still open."""
        with self._lock:
            return sum(window.suppressed for window in self._windows.values())

    # ------------------------------------------------------------------ private

    def _expire(self, now: float) -> list[AlarmRaised]:
        """Close windows older than the dedup window; summaries of those with copies."""
        summaries: list[AlarmRaised] = []
        for key, window in list(self._windows.items()):
            if now - window.opened_at < self.dedup_window_s:
                continue
            del self._windows[key]
            if window.suppressed:
                level, code, scope, message = key
                note = f"[repeated {window.suppressed}× in {self.dedup_window_s:g} s] {message}"
                summaries.append(self._event(level, code, note, scope, now))
        return summaries

    def _store(self, event: AlarmRaised) -> None:
        """Store the alarms kept from a storage fault (oldest first), then ``event``."""
        assert self.store is not None
        with self._lock:
            self._unstored.append(event)
            while self._unstored:
                try:
                    self.store(self._unstored[0])
                except Exception as exc:
                    self.store_failures += 1
                    log.error("alarm %s could not be stored yet: %s", event.code, exc)
                    return
                self._unstored.popleft()

    def _event(
        self, level: AlarmLevel, code: str, message: str, scope: str, now: float
    ) -> AlarmRaised:
        return AlarmRaised(
            level=level,
            code=code,
            message=self.redactor.redact(message),
            scope=scope,
            at=datetime.fromtimestamp(now, UTC),
        )

    def _emit(self, event: AlarmRaised) -> None:
        self.emitted += 1
        log.log(
            LOG_LEVELS[event.level],
            "alarm %s [%s] %s: %s",
            event.level.value,
            event.scope,
            event.code,
            event.message,
            extra={"alarm_level": event.level.value, "alarm_code": event.code,
                   "alarm_scope": event.scope},
        )  # fmt: skip
        if self.store is not None:
            self._store(event)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("alarm listener %r failed for %s", listener, event.code)
