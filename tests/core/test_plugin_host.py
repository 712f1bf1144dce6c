"""The plugin host: loading, broken plugins, conflicts, switches and observers."""

from __future__ import annotations

import logging

import pytest

from moonlight.core.events import AlarmLevel, AlarmRaised
from moonlight.core.plugins import ComponentKind, build_plugin_host, hookimpl
from moonlight.core.plugins.host import PluginStatus
from moonlight.core.plugins.registry import ComponentLookupError
from tests.core import plugin_fixtures as fx

NO_ENTRY_POINTS = {"MOONLIGHT_DISABLE_PLUGINS": "*"}


def test_good_plugin_components_are_registered_by_kind() -> None:
    host = build_plugin_host(environ=NO_ENTRY_POINTS, extra_plugins=[("good", fx.GoodPlugin())])
    assert host.registry.names(ComponentKind.STRATEGY) == ["echo"]
    assert "loop" in host.registry.names(ComponentKind.CONNECTOR)
    assert host.plugins["good"].status is PluginStatus.LOADED
    assert host.registry.provided_by("good")["strategy"][0]["name"] == "echo"


def test_duplicate_name_is_a_conflict_that_names_both_plugins() -> None:
    host = build_plugin_host(
        environ=NO_ENTRY_POINTS,
        extra_plugins=[("good", fx.GoodPlugin()), ("dup", fx.DuplicatePlugin())],
    )
    with pytest.raises(ComponentLookupError, match=r"more than one plugin \(good, dup\)"):
        host.registry.get(ComponentKind.STRATEGY, "echo")
    # the non-conflicting name of the same plugin stays usable
    assert host.registry.names(ComponentKind.STRATEGY) == ["unique"]
    assert host.registry.conflicts() == {(ComponentKind.STRATEGY, "echo"): ["good", "dup"]}


def test_misspelled_hookimpl_marks_only_that_plugin_broken() -> None:
    host = build_plugin_host(
        environ=NO_ENTRY_POINTS,
        extra_plugins=[("typo", fx.MisspelledPlugin()), ("good", fx.GoodPlugin())],
    )
    typo = host.plugins["typo"]
    assert typo.status is PluginStatus.BROKEN
    assert "moonlight_register_strategys" in (typo.error or "")
    assert host.registry.names(ComponentKind.STRATEGY) == ["echo"]
    assert [p.name for p in host.broken()] == ["typo"]


def test_plugin_whose_register_hook_raises_is_dropped_whole() -> None:
    host = build_plugin_host(environ=NO_ENTRY_POINTS, extra_plugins=[("bad", fx.RaisingPlugin())])
    assert host.plugins["bad"].status is PluginStatus.BROKEN
    assert "boom at registration" in (host.plugins["bad"].error or "")
    # its other registrations are not half-kept
    assert host.registry.names(ComponentKind.STRATEGY) == []


def test_register_hook_returning_wrong_type_is_broken() -> None:
    host = build_plugin_host(environ=NO_ENTRY_POINTS, extra_plugins=[("wt", fx.WrongTypePlugin())])
    assert "expected ComponentSpec" in (host.plugins["wt"].error or "")


def test_unknown_name_lists_known_ones() -> None:
    host = build_plugin_host(environ=NO_ENTRY_POINTS, extra_plugins=[("good", fx.GoodPlugin())])
    with pytest.raises(
        ComponentLookupError, match=r"no plugin provides strategy 'nope' \(known: echo\)"
    ):
        host.registry.get(ComponentKind.STRATEGY, "nope")


def test_disable_switch_skips_named_entry_points() -> None:
    everything = build_plugin_host(environ={})
    names = {p.name for p in everything.plugins.values() if not p.builtin}
    assert "indicators" in names
    host = build_plugin_host(environ={"MOONLIGHT_DISABLE_PLUGINS": "indicators"})
    disabled = [p for p in host.plugins.values() if p.status is PluginStatus.DISABLED]
    assert [p.name for p in disabled] == ["indicators"]
    assert host.registry.names(ComponentKind.INDICATOR) == []


def test_trace_switch_logs_every_hook_call(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="moonlight.plugins")
    build_plugin_host(
        environ={**NO_ENTRY_POINTS, "MOONLIGHT_TRACE_HOOKS": "1"},
        extra_plugins=[("good", fx.GoodPlugin())],
    )
    traced = [r.getMessage() for r in caplog.records if r.getMessage().startswith("hook ")]
    assert any("moonlight_register_strategies -> plugin good" in m for m in traced)


def test_observer_failure_is_isolated_and_counted() -> None:
    observer = fx.ObserverPlugin()
    host = build_plugin_host(
        environ=NO_ENTRY_POINTS,
        extra_plugins=[("failing", fx.FailingObserver()), ("observer", observer)],
    )
    event = AlarmRaised(level=AlarmLevel.INFO, code="test", message="hello")
    assert host.notify("moonlight_on_alarm", event=event) == 1
    assert observer.seen == [event]


class _Counts:
    """Observers that declare fewer arguments than the spec: pluggy's opt-in."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def moonlight_on_alarm(self) -> None:
        self.calls += 1

    @hookimpl
    def moonlight_on_order_settled(self) -> None:
        self.calls += 1


def test_a_hookimpl_that_takes_no_arguments_is_called_without_them() -> None:
    counts = _Counts()
    host = build_plugin_host(environ=NO_ENTRY_POINTS, extra_plugins=[("counts", counts)])
    event = AlarmRaised(level=AlarmLevel.INFO, code="test", message="hello")
    assert host.notify("moonlight_on_alarm", event=event) == 0
    assert counts.calls == 1
    # the same call through pluggy itself agrees: the host keeps pluggy's contract
    host.manager.hook.moonlight_on_alarm(event=event)
    assert counts.calls == 2
