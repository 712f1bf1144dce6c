"""The risk manager: chain order, reasons, counts, trading state, and building from config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from moonlight.core.config import ConfigError, load_config
from moonlight.core.config.models import RiskConfig
from moonlight.core.orders import Outcome
from moonlight.core.plugins import ComponentKind, build_plugin_host
from moonlight.core.plugins.registry import Registry
from moonlight.core.risk.builder import build_risk_manager
from moonlight.core.risk.decision import ReasonCode, RiskDecision, Scope
from moonlight.core.risk.guards.base import ConnectorErrorKind, Guard
from moonlight.core.risk.guards.daily_loss_cap import DailyLossCap
from moonlight.core.risk.guards.kill_switch import KillSwitch
from moonlight.core.risk.manager import RiskManager
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.state_store import MemoryGuardStateStore
from moonlight.core.risk.trading_state import TradingState
from tests.risk.conftest import Clock, make_request, result

NO_ENTRY_POINTS = {"MOONLIGHT_DISABLE_PLUGINS": "*"}

GUARDS: list[dict[str, Any]] = [
    {"name": "daily_loss_cap", "params": {"daily_loss_cap_amount": 50}},
    {"name": "consecutive_losses", "params": {"max_consecutive_losses": 2, "cool_down_s": 600}},
    {
        "name": "max_open_orders",
        "params": {"max_open_per_account": 3, "max_open_per_instrument": None},
    },
    {"name": "circuit_breaker", "params": {"min_calls": 2, "cool_down_s": 30}},
]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return build_plugin_host(environ=NO_ENTRY_POINTS).registry


def manager_for(
    registry: Registry,
    clock: Clock,
    *,
    store: MemoryGuardStateStore | None = None,
    on_reject: Callable[[DecisionRequest, RiskDecision], None] | None = None,
    **risk: Any,
) -> RiskManager:
    settings = {"sizing": {"policy": "fixed", "params": {"stake_amount": 10}}, "guards": GUARDS}
    config = RiskConfig.model_validate({**settings, **risk}, context={"registry": registry})
    return build_risk_manager(
        config, registry, store=store or MemoryGuardStateStore(), now=clock, on_reject=on_reject
    )


def test_builtin_plugin_registers_policies_and_guards(registry: Registry) -> None:
    assert registry.names(ComponentKind.SIZING_POLICY) == ["fixed", "fraction", "kelly_lite"]
    assert registry.names(ComponentKind.GUARD) == [
        "circuit_breaker",
        "consecutive_losses",
        "daily_loss_cap",
        "kill_switch",
        "max_open_orders",
    ]
    for spec in registry.registrations(ComponentKind.GUARD):
        assert spec.plugin == "core.risk"  # built-in module moonlight.core.risk.plugin
        model = spec.component.config_model
        assert model.model_config.get("frozen") and model.model_config.get("extra") == "forbid"
        assert all(field.description for field in model.model_fields.values())


def test_allowed_decision_carries_the_clamped_stake(registry: Registry, clock: Clock) -> None:
    manager = manager_for(
        registry, clock, sizing={"policy": "fixed", "params": {"stake_amount": 500}}
    )
    decision = manager.decide(make_request(account_max_stake=100.0))
    assert decision.allowed and decision.reason is None and decision.rule == ""
    assert (decision.stake, decision.raw_stake, decision.decided_at) == (100.0, 500.0, clock())


def test_chain_order_and_reason_codes(registry: Registry, clock: Clock) -> None:
    refused: list[RiskDecision] = []
    manager = manager_for(registry, clock, on_reject=lambda _r, d: refused.append(d))
    # permit first: a bad payout wins over a bad p̂
    assert manager.decide(make_request(payout_pct=50.0, p_hat=0.1)).rule == "permit"
    assert manager.decide(make_request(p_hat=0.5)).reason is ReasonCode.P_HAT_BELOW_BREAK_EVEN
    manager.kill_switch.engage("acc1", by="alice", reason="test")
    decision = manager.decide(make_request())
    assert (decision.rule, decision.reason, decision.scope) == (
        "kill_switch",
        ReasonCode.KILL_SWITCH_ACCOUNT,
        Scope.ACCOUNT,
    )
    assert decision.stake == 0.0
    assert [d.reason for d in refused] == [
        ReasonCode.PAYOUT_BELOW_PERMIT,
        ReasonCode.P_HAT_BELOW_BREAK_EVEN,
        ReasonCode.KILL_SWITCH_ACCOUNT,
    ]
    assert manager.reject_counts == {
        ReasonCode.PAYOUT_BELOW_PERMIT: 1,
        ReasonCode.P_HAT_BELOW_BREAK_EVEN: 1,
        ReasonCode.KILL_SWITCH_ACCOUNT: 1,
    }


def test_sizing_refusal(registry: Registry, clock: Clock) -> None:
    manager = manager_for(
        registry, clock, sizing={"policy": "fixed", "params": {"stake_amount": 0.5}}
    )
    decision = manager.decide(make_request(min_stake=1.0))
    assert (decision.allowed, decision.rule, decision.reason) == (
        False,
        "sizing",
        ReasonCode.STAKE_BELOW_BROKER_MIN,
    )


def test_kill_switch_is_added_and_first(registry: Registry, clock: Clock) -> None:
    manager = manager_for(registry, clock)
    assert isinstance(manager.guards[0], KillSwitch)
    assert [g.name for g in manager.guards] == [
        "kill_switch",
        "daily_loss_cap",
        "consecutive_losses",
        "max_open_orders",
        "circuit_breaker",
    ]
    configured = manager_for(
        registry, clock, guards=[*GUARDS, {"name": "kill_switch", "params": {}}]
    )
    assert [g.name for g in configured.guards].count("kill_switch") == 1
    assert configured.guards[0].name == "kill_switch"


def test_trading_state_follows_the_guards(registry: Registry, clock: Clock) -> None:
    manager = manager_for(registry, clock)
    assert manager.trading_state("acc1").state is TradingState.ACTIVE
    orders = {"a": "EURUSD", "b": "GBPUSD", "c": "USDJPY"}
    for order, instrument in orders.items():
        manager.on_order_opened("acc1", instrument, order)
    state = manager.trading_state("acc1")
    assert state.state is TradingState.REDUCING
    assert [r.reason for r in state.restrictions] == [ReasonCode.MAX_OPEN_ORDERS_ACCOUNT]
    for order, instrument in orders.items():
        manager.on_order_closed("acc1", instrument, order)
    manager.on_result(result(Outcome.LOSE, -10.0))
    manager.on_result(result(Outcome.LOSE, -10.0))  # two in a row: cool-down
    state = manager.trading_state("acc1")
    assert state.state is TradingState.HALTED
    assert [r.guard for r in state.restrictions] == ["consecutive_losses"]
    assert manager.decide(make_request()).reason is ReasonCode.CONSECUTIVE_LOSSES
    clock.advance(600)
    assert manager.trading_state("acc1").state is TradingState.ACTIVE
    manager.on_connector_error("acc1", ConnectorErrorKind.TIMEOUT, 1.0)
    manager.on_connector_error("acc1", ConnectorErrorKind.TIMEOUT, 1.0)
    assert manager.trading_state("acc1").state is TradingState.HALTED
    clock.advance(30)
    assert manager.trading_state("acc1").state is TradingState.REDUCING  # half-open
    manager.on_connector_success("acc1", 0.1)
    states = manager.trading_states(["acc1", "acc2"])
    assert {k: v.state for k, v in states.items()} == {
        "acc1": TradingState.ACTIVE,
        "acc2": TradingState.ACTIVE,
    }
    assert isinstance(manager.guard("daily_loss_cap"), DailyLossCap)
    with pytest.raises(KeyError):
        manager.guard("nope")


class ExplodingGuard(Guard):
    name = "exploding"

    def __init__(self) -> None:
        self.seen = 0

    def check(self, request: DecisionRequest, now: Any) -> Any:
        raise AssertionError("not used")

    def statuses(self, account_id: str, now: Any) -> list[Any]:
        return []

    def on_result(self, result: Any, now: Any) -> None:
        self.seen += 1
        raise OSError("disk full")


def test_a_failing_guard_does_not_hide_the_event_from_the_others(
    registry: Registry, clock: Clock
) -> None:
    built = manager_for(registry, clock)
    exploding = ExplodingGuard()
    manager = RiskManager(
        permit=built._permit,
        threshold=built._threshold,
        sizing=built._sizing,
        kill_switch=built.kill_switch,
        guards=[exploding, *built.guards[1:]],
        now=clock,
    )
    with pytest.raises(OSError, match="disk full"):
        manager.on_result(result(Outcome.LOSE, -60.0))
    assert exploding.seen == 1
    assert manager.trading_state("acc1").state is TradingState.HALTED  # daily cap saw it


def test_config_validates_guard_and_sizing_params(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "risk": {
                    "sizing": {"policy": "kelly_lite", "params": {"kelly_fraction": 2}},
                    "guards": [
                        {"name": "daily_loss_cap", "params": {}},
                        {"name": "circuit_breakr", "params": {}},
                        {"name": "consecutive_losses", "params": {"cool_down": 5}},
                    ],
                }
            }
        )
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, registry=registry)
    text = str(caught.value)
    assert "kelly_fraction" in text
    assert "exactly one of daily_loss_cap_amount and daily_loss_cap_pct" in text
    assert "circuit_breakr" in text
    assert "cool_down" in text
