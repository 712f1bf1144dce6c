"""Compose a :class:`RiskManager` from the configuration and the plugin registry.

Names in ``risk.sizing.policy`` and ``risk.guards[].name`` are looked up in the registry
(the configuration was already validated against it); each component's ``params`` are
validated against its ``config_model`` again here, so a manager is never built from
unchecked parameters even when the caller skipped config validation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from moonlight.core.config.models import RiskConfig
from moonlight.core.events import utc_now
from moonlight.core.plugins.registry import ComponentKind, Registry
from moonlight.core.plugins.specs import ComponentSpec
from moonlight.core.risk.guards.base import Guard, GuardContext
from moonlight.core.risk.guards.kill_switch import KillSwitch, KillSwitchConfig
from moonlight.core.risk.manager import RejectListener, RiskManager
from moonlight.core.risk.permit import PermitRule
from moonlight.core.risk.sizing.base import SizingPolicy
from moonlight.core.risk.state_store import GuardStateStore
from moonlight.core.risk.threshold import ThresholdRule


def build_risk_manager(
    config: RiskConfig,
    registry: Registry,
    *,
    store: GuardStateStore,
    now: Callable[[], datetime] = utc_now,
    on_reject: RejectListener | None = None,
) -> RiskManager:
    """The risk chain the configuration describes, with guard state from ``store``."""
    context = GuardContext(now=now, timezone=ZoneInfo(config.timezone), store=store)
    sizing_spec: ComponentSpec = registry.get(ComponentKind.SIZING_POLICY, config.sizing.policy)
    sizing: SizingPolicy = _build(sizing_spec, config.sizing.params)
    guards: list[Guard] = []
    for guard_config in config.guards:
        spec: ComponentSpec = registry.get(ComponentKind.GUARD, guard_config.name)
        guard = _build(spec, guard_config.params, context=context)
        if not isinstance(guard, Guard):
            raise TypeError(
                f"guard {guard_config.name!r} factory returned {type(guard).__name__},"
                " not a moonlight.core.risk.guards.base.Guard"
            )
        guards.append(guard)
    kill_switch = next((g for g in guards if isinstance(g, KillSwitch)), None)
    if kill_switch is None:
        kill_switch = KillSwitch(KillSwitchConfig(), context=context)
    return RiskManager(
        permit=PermitRule(config.permit_min_pct, config.permit_max_pct),
        threshold=ThresholdRule(config.threshold, config.margin),
        sizing=sizing,
        kill_switch=kill_switch,
        guards=guards,
        now=now,
        on_reject=on_reject,
    )


def _build(spec: ComponentSpec, params: dict[str, Any], **kwargs: Any) -> Any:
    """Call ``spec.factory`` with its validated parameter model (ValidationError if bad);
    a component without a config model takes no parameters and gets none."""
    if spec.config_model is None:
        if params:
            raise ValueError(f"{spec.name!r} takes no parameters, got {sorted(params)}")
        return spec.factory(**kwargs)
    return spec.factory(spec.config_model.model_validate(params), **kwargs)
