"""Built-in risk plugin: the three sizing policies and the five guards.

Registered through the same hooks as third-party plugins (listed in
``moonlight.core.plugins.host.BUILTIN_PLUGINS``). Factories:

* sizing policy: ``factory(config)`` with the validated config model instance;
* guard: ``factory(config, *, context)`` with a
  :class:`~moonlight.core.risk.guards.base.GuardContext` (clock, timezone, state store).

A third-party guard follows the same contract: subclass
:class:`~moonlight.core.risk.guards.base.Guard` and register a ``ComponentSpec``.
"""

from __future__ import annotations

from collections.abc import Sequence

from moonlight.core.plugins import ComponentSpec, hookimpl
from moonlight.core.risk.guards.circuit_breaker import CircuitBreaker, CircuitBreakerConfig
from moonlight.core.risk.guards.consecutive_losses import (
    ConsecutiveLosses,
    ConsecutiveLossesConfig,
)
from moonlight.core.risk.guards.daily_loss_cap import DailyLossCap, DailyLossCapConfig
from moonlight.core.risk.guards.kill_switch import KillSwitch, KillSwitchConfig
from moonlight.core.risk.guards.max_open_orders import MaxOpenOrders, MaxOpenOrdersConfig
from moonlight.core.risk.sizing.fixed import FixedStake, FixedStakeConfig
from moonlight.core.risk.sizing.fraction import FractionOfBalance, FractionOfBalanceConfig
from moonlight.core.risk.sizing.kelly import KellyLite, KellyLiteConfig


@hookimpl
def moonlight_register_sizing_policies() -> Sequence[ComponentSpec]:
    """Fixed stake, fraction of balance and Kelly-lite."""
    return [
        ComponentSpec(
            name=FixedStake.name,
            factory=FixedStake,
            summary="The same stake on every order.",
            config_model=FixedStakeConfig,
        ),
        ComponentSpec(
            name=FractionOfBalance.name,
            factory=FractionOfBalance,
            summary="A fixed share of the current balance.",
            config_model=FractionOfBalanceConfig,
        ),
        ComponentSpec(
            name=KellyLite.name,
            factory=KellyLite,
            summary="Fractional Kelly on p̂ and the payout, capped; nothing without an edge.",
            config_model=KellyLiteConfig,
        ),
    ]


@hookimpl
def moonlight_register_guards() -> Sequence[ComponentSpec]:
    """Kill-switch, daily loss cap, consecutive losses, max open orders, circuit breaker."""
    return [
        ComponentSpec(
            name=KillSwitch.name,
            factory=KillSwitch,
            summary="Global and per-account stop; persisted; only a person re-arms it.",
            config_model=KillSwitchConfig,
        ),
        ComponentSpec(
            name=DailyLossCap.name,
            factory=DailyLossCap,
            summary="Stops an account for the day once its net loss reaches the cap.",
            config_model=DailyLossCapConfig,
        ),
        ComponentSpec(
            name=ConsecutiveLosses.name,
            factory=ConsecutiveLosses,
            summary="Pauses an account after N losses in a row, for a cool-down.",
            config_model=ConsecutiveLossesConfig,
        ),
        ComponentSpec(
            name=MaxOpenOrders.name,
            factory=MaxOpenOrders,
            summary="Caps orders in flight per account and per instrument.",
            config_model=MaxOpenOrdersConfig,
        ),
        ComponentSpec(
            name=CircuitBreaker.name,
            factory=CircuitBreaker,
            summary="Stops an account while its connector errs, lags or is rate-limited.",
            config_model=CircuitBreakerConfig,
        ),
    ]
