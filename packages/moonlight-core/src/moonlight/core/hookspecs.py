# mypy: disable-error-code="empty-body"
"""Every hook MoonLight calls, in one place (pytest's ``hookspec.py`` is the model).

Naming: ``moonlight_register_<things>`` hooks return things for the host to register;
``moonlight_on_<event>`` hooks only observe. All hooks take keyword arguments only.

Results of the register hooks are collected per plugin (each implementation is called
on its own, so one failing plugin is reported and skipped without hiding the others),
and a name registered twice for the same kind is a conflict that fails start-up if the
configuration uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from moonlight.core.events import (
    AlarmRaised,
    EngineStarted,
    EngineStopped,
    OrderSettled,
    OrderStateChanged,
)
from moonlight.core.plugins.markers import hookspec
from moonlight.core.plugins.specs import ComponentSpec, IndicatorSpec

# ---------------------------------------------------------------------------------------
# Registration -- called once, at start-up, while the plugin host builds its registry.
# Called on the main thread before any event loop runs; each implementation separately.
# ---------------------------------------------------------------------------------------


@hookspec
def moonlight_register_indicators() -> Sequence[IndicatorSpec]:
    """Return the indicators this plugin provides.

    Called once per plugin at start-up. The names (and aliases) must be unique across
    all plugins; the batch function and stream factory are not called here.
    """


@hookspec
def moonlight_register_strategies() -> Sequence[ComponentSpec]:
    """Return the strategies this plugin provides.

    Called once per plugin at start-up. Each spec's ``config_model`` is the strategy's
    parameter model; config ``strategies[].params`` is validated against it and the
    validated model is passed to ``factory(params)``.
    """


@hookspec
def moonlight_register_connectors() -> Sequence[ComponentSpec]:
    """Return the broker connectors this plugin provides.

    Called once per plugin at start-up. ``factory(config, *, secrets)`` builds one
    connector per account that names it; ``config`` is the validated ``config_model``
    instance from ``accounts[].connector_options``.
    """


@hookspec
def moonlight_register_sizing_policies() -> Sequence[ComponentSpec]:
    """Return the stake sizing policies this plugin provides.

    Called once per plugin at start-up; ``risk.sizing.policy`` names one of them and
    ``risk.sizing.params`` is validated against its ``config_model``.
    """


@hookspec
def moonlight_register_guards() -> Sequence[ComponentSpec]:
    """Return the risk guards this plugin provides.

    Called once per plugin at start-up; ``risk.guards[].name`` names them and each
    entry's ``params`` is validated against the guard's ``config_model``.
    ``factory(config, *, context)`` receives the validated params and a
    :class:`~moonlight.core.risk.guards.base.GuardContext` (clock, timezone, state store);
    it returns a :class:`~moonlight.core.risk.guards.base.Guard`.
    """


@hookspec
def moonlight_register_services() -> Sequence[ComponentSpec]:
    """Return services that run beside the engine in ``moonlight run`` (the API server).

    Called once per plugin at start-up. ``factory(engine, stop)`` is called after the
    engine started and returns an awaitable that runs until the ``asyncio.Event`` stop
    is set; the service's ``config_model`` section is ``plugins.<name>``.
    """


@hookspec
def moonlight_register_config_models() -> Mapping[str, type[BaseModel]]:
    """Return plugin-wide configuration sections: section name -> pydantic model.

    Called once per plugin at start-up. The configuration's ``plugins.<section>`` is
    validated against the model; a section with no model is an error.
    """


# ---------------------------------------------------------------------------------------
# Engine life cycle -- called on the engine's event loop thread; results are ignored.
# ---------------------------------------------------------------------------------------


@hookspec
def moonlight_on_engine_started(event: EngineStarted) -> None:
    """Called once, after start-up reconciliation finished and before the first bar."""


@hookspec
def moonlight_on_engine_stopped(event: EngineStopped) -> None:
    """Called once, after the last worker stopped and in-flight orders were persisted."""


# ---------------------------------------------------------------------------------------
# Trading events -- called on the engine's event loop thread after the event is stored;
# implementations must return quickly (hand slow work to a task). Results are ignored;
# an exception is logged and counted, never propagated into the engine.
# ---------------------------------------------------------------------------------------


@hookspec
def moonlight_on_order_state_changed(event: OrderStateChanged) -> None:
    """Called for every executor state transition of every order, in order per order."""


@hookspec
def moonlight_on_order_settled(event: OrderSettled) -> None:
    """Called once per order when its outcome (win, lose, push, abort) is recorded."""


@hookspec
def moonlight_on_alarm(event: AlarmRaised) -> None:
    """Called for every alarm (critical, warning, info) after it is logged and stored."""
