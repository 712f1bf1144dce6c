"""Alarm center: catalogue, logging, storage, observer plugins and storm de-duplication."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.events import AlarmLevel, AlarmRaised
from moonlight.core.plugins import build_plugin_host, hookimpl
from moonlight.core.storage.models import Alarm
from moonlight.core.telemetry.alarms import (
    ALARM_CATALOGUE,
    AlarmCenter,
    AlarmCode,
    plugin_notifier,
    sql_alarm_store,
)
from moonlight.core.telemetry.pii import Redactor

T0 = 1_700_000_000.0


class FakeTime:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Observer:
    """A notifier plugin: receives alarms through the observer hook."""

    def __init__(self) -> None:
        self.received: list[AlarmRaised] = []

    @hookimpl
    def moonlight_on_alarm(self, event: AlarmRaised) -> None:
        self.received.append(event)


class BrokenObserver:
    @hookimpl
    def moonlight_on_alarm(self, event: AlarmRaised) -> None:
        raise RuntimeError("notifier down")


def test_catalogue_has_the_seed_alarms_at_the_seed_levels() -> None:
    levels = {code: spec.level for code, spec in ALARM_CATALOGUE.items()}
    critical = {AlarmCode.KILL_SWITCH, AlarmCode.CIRCUIT_BREAKER_TRIP, AlarmCode.DAILY_LOSS_CAP,
                AlarmCode.STORAGE_UNAVAILABLE}  # fmt: skip
    warning = {AlarmCode.HIGH_LATENCY, AlarmCode.OUTSIDE_PERMIT, AlarmCode.RATE_LIMIT_STORM}
    info = {AlarmCode.CONFIG_CHANGE, AlarmCode.WORKER_START, AlarmCode.WORKER_STOP}
    assert {c for c in critical if levels[c] is AlarmLevel.CRITICAL} == critical
    assert {c for c in warning if levels[c] is AlarmLevel.WARNING} == warning
    assert {c for c in info if levels[c] is AlarmLevel.INFO} == info
    assert set(ALARM_CATALOGUE) == set(AlarmCode)


def test_alarm_is_logged_stored_and_reaches_an_observer_plugin(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    observer = Observer()
    host = build_plugin_host(
        environ={"MOONLIGHT_DISABLE_PLUGINS": "*"},
        extra_plugins=[("observer", observer), ("broken", BrokenObserver())],
    )
    clock = FakeTime()
    center = AlarmCenter(
        store=sql_alarm_store(sessions), listeners=[plugin_notifier(host)], clock=clock
    )
    caplog.set_level(logging.INFO)

    event = center.raise_catalogued(AlarmCode.DAILY_LOSS_CAP, "loss cap 5% hit", "acc:acc1")

    assert event is not None
    assert observer.received == [event]
    assert event.level is AlarmLevel.CRITICAL
    assert event.at.timestamp() == T0
    record = next(r for r in caplog.records if r.name == "moonlight.alarms")
    assert record.levelno == logging.CRITICAL
    assert record.__dict__["alarm_code"] == "daily_loss_cap"
    assert "loss cap 5% hit" in record.getMessage()
    # the broken notifier was reported, and did not stop the others
    assert any("notifier down" in r.getMessage() for r in caplog.records)
    with sessions() as session:
        rows = list(session.scalars(select(Alarm)))
    assert [(r.level, r.code, r.message, r.scope) for r in rows] == [
        (AlarmLevel.CRITICAL, "daily_loss_cap", "loss cap 5% hit", "acc:acc1")
    ]
    assert rows[0].ts.timestamp() == T0


@pytest.mark.parametrize(
    ("level", "log_level"),
    [("critical", logging.CRITICAL), ("warning", logging.WARNING), ("info", logging.INFO)],
)
def test_levels_map_to_log_levels(
    level: str, log_level: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    AlarmCenter().raise_alarm(level, "custom", "something")
    assert [r.levelno for r in caplog.records if r.name == "moonlight.alarms"] == [log_level]


def test_a_storm_is_counted_then_summarised() -> None:
    clock = FakeTime()
    delivered: list[AlarmRaised] = []
    center = AlarmCenter(listeners=[delivered.append], dedup_window_s=60, clock=clock)

    first = center.raise_alarm("warning", "rate_limit_storm", "429 from olymp", "conn:olymp")
    for _ in range(25):
        clock.now += 1
        assert (
            center.raise_alarm("warning", "rate_limit_storm", "429 from olymp", "conn:olymp")
            is None
        )
    # a different scope or message is not a duplicate
    other = center.raise_alarm("warning", "rate_limit_storm", "429 from olymp", "conn:deriv")
    assert first is not None and other is not None
    assert center.suppressed == 25
    assert center.pending_duplicates() == 25
    assert len(delivered) == 2

    clock.now = T0 + 59
    assert center.flush() == []  # window still open
    clock.now = T0 + 61
    summaries = center.flush()
    assert [s.message for s in summaries] == ["[repeated 25× in 60 s] 429 from olymp"]
    assert summaries[0].scope == "conn:olymp"
    assert delivered[-1] == summaries[0]
    # the window is closed: the same alarm is emitted again
    again = center.raise_alarm("warning", "rate_limit_storm", "429 from olymp", "conn:olymp")
    assert again is not None
    assert len(delivered) == 4


def test_window_closing_inside_raise_emits_summary_before_the_new_alarm() -> None:
    clock = FakeTime()
    delivered: list[AlarmRaised] = []
    center = AlarmCenter(listeners=[delivered.append], dedup_window_s=10, clock=clock)
    for _ in range(3):
        center.raise_alarm("info", "worker_start", "w1 started")
    clock.now += 10
    center.raise_alarm("info", "worker_start", "w1 started")
    assert [e.message for e in delivered] == [
        "w1 started",
        "[repeated 2× in 10 s] w1 started",
        "w1 started",
    ]


def test_storage_failure_does_not_stop_the_alarm(caplog: pytest.LogCaptureFixture) -> None:
    delivered: list[AlarmRaised] = []

    def failing_store(event: AlarmRaised) -> None:
        raise OSError("database is locked")

    center = AlarmCenter(store=failing_store, listeners=[delivered.append])
    event = center.raise_catalogued(AlarmCode.STORAGE_UNAVAILABLE, "disk full")
    assert delivered == [event]
    assert center.store_failures == 1
    assert any("could not be stored" in r.getMessage() for r in caplog.records)


def test_messages_are_masked_before_leaving_the_engine() -> None:
    redactor = Redactor()
    redactor.register("ACC-998877", "account")
    delivered: list[AlarmRaised] = []
    center = AlarmCenter(listeners=[delivered.append], redactor=redactor)
    center.raise_alarm("warning", "custom", "login ops@example.com on ACC-998877 password=pw1")
    assert delivered[0].message == "login <email> on <account> password=<redacted>"


def test_subscribe_adds_a_listener() -> None:
    center = AlarmCenter()
    seen: list[AlarmRaised] = []
    center.subscribe(seen.append)
    center.raise_alarm(AlarmLevel.INFO, "config_change", "risk.threshold 0.55 → 0.6")
    assert [e.code for e in seen] == ["config_change"]
    with pytest.raises(ValueError):
        center.raise_alarm("fatal", "x", "y")
