"""ResearchSetup: everything one evaluation needs, from a configuration or by hand.

A setup is one worker of one account: strategies (built objects) with their vote
weights, the calibration in force, the risk configuration, the account (id, timeframe,
expiry, stake cap, currency), the broker's terms (payout, stake limits, durations), the
worker timing and the starting balance. :func:`setup_from_config` reads it from a
MoonlightConfig exactly as the engine composes a worker; :func:`make_setup` builds one
from a few arguments in a notebook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from moonlight.core.backtest.engine import STARTING_BALANCE
from moonlight.core.backtest.replay import DEFAULT_DURATIONS_S
from moonlight.core.backtest.runner import default_payout_pct
from moonlight.core.config.models import (
    AccountConfig,
    MoonlightConfig,
    RiskConfig,
    RuntimeConfig,
    StrategyConfig,
)
from moonlight.core.ensemble.platt import UNFITTED, Calibration
from moonlight.core.plugins.host import PluginHost
from moonlight.core.plugins.registry import Registry
from moonlight.core.strategy.api import Strategy
from moonlight.core.strategy.factory import build_strategy
from moonlight.core.strategy.indicators import IndicatorSource, RegistryIndicatorSource

#: What a strategy may be given as: a name, a config entry (or its dict), or an object.
StrategyLike = str | StrategyConfig | Mapping[str, Any] | Strategy[Any]


@dataclass(frozen=True)
class ResearchSetup:
    """One worker of one account; see the module docstring."""

    strategies: tuple[Strategy[Any], ...]
    names: tuple[str, ...]
    weights: tuple[float, ...]
    calibration: Calibration
    risk: RiskConfig
    registry: Registry
    source: IndicatorSource
    account: AccountConfig
    runtime: RuntimeConfig
    payout_pct: float = 85.0
    stake_min: float = 1.0
    stake_max: float = 1000.0
    durations_s: tuple[int, ...] = DEFAULT_DURATIONS_S
    starting_balance: float = STARTING_BALANCE

    @property
    def timeframe(self) -> str:
        """The worker's timeframe (the account's first)."""
        return self.account.timeframes[0]

    def with_changes(self, **changes: Any) -> ResearchSetup:
        """A copy with some fields replaced (``timeframe=`` and ``expiry=`` go to the account)."""
        account_changes = {
            key: changes.pop(key) for key in ("expiry", "max_stake") if key in changes
        }
        if "timeframe" in changes:
            account_changes["timeframes"] = [changes.pop("timeframe")]
        if account_changes:
            changes["account"] = self.account.model_copy(update=account_changes)
        return replace(self, **changes)


def _host(host: PluginHost | None) -> PluginHost:
    if host is not None:
        return host
    from moonlight.core.backtest.plugin import with_replay

    return with_replay()


def build_strategy_list(
    strategies: Sequence[StrategyLike], registry: Registry
) -> tuple[list[Strategy[Any]], list[str], list[float]]:
    """Strategy objects, names and weights from names, config entries or objects."""
    built: list[Strategy[Any]] = []
    names: list[str] = []
    weights: list[float] = []
    for item in strategies:
        if isinstance(item, Strategy):
            built.append(item)
            names.append(str(item.name))
            weights.append(1.0)
            continue
        entry = (
            StrategyConfig(name=item)
            if isinstance(item, str)
            else item
            if isinstance(item, StrategyConfig)
            else StrategyConfig.model_validate(dict(item), context={"registry": registry})
        )
        built.append(build_strategy(entry, registry))
        names.append(entry.name)
        weights.append(entry.weight)
    return built, names, weights


def setup_from_config(
    config: MoonlightConfig | str | Path,
    *,
    host: PluginHost | None = None,
    account_id: str | None = None,
    instrument: str | None = None,
    timeframe: str | None = None,
    calibration: Calibration | None = None,
    payout_pct: float | None = None,
    starting_balance: float = STARTING_BALANCE,
) -> ResearchSetup:
    """The worker ``(account, timeframe)`` of ``config`` as the engine would compose it.

    The calibration is ``calibration`` when given, else the configuration's paper prior,
    else the unfitted mapping (p̂ = 0.5). The engine would prefer a fit stored in its
    database: pass that fit as ``calibration`` to evaluate the same decisions.
    """
    host = _host(host)
    if not isinstance(config, MoonlightConfig):
        from moonlight.core.config import load_config

        config = load_config(Path(config), registry=host.registry)
    if not config.accounts:
        raise ValueError("the configuration has no account")
    account = (
        next((a for a in config.accounts if a.id == account_id), None)
        if account_id
        else (config.accounts[0])
    )
    if account is None:
        raise ValueError(f"no account {account_id!r} in the configuration")
    strategies, names, weights = build_strategy_list(config.strategies, host.registry)
    prior = config.ensemble.paper_prior
    chosen = calibration or (
        Calibration(prior.a, prior.b, fitted=False) if prior is not None else UNFITTED
    )
    updates: dict[str, Any] = {}
    if timeframe is not None:
        updates["timeframes"] = [timeframe]
    if instrument is not None:
        updates["products"] = [instrument]
    return ResearchSetup(
        strategies=tuple(strategies),
        names=tuple(names),
        weights=tuple(weights),
        calibration=chosen,
        risk=config.risk,
        registry=host.registry,
        source=RegistryIndicatorSource(host.registry),
        account=account.model_copy(update=updates) if updates else account,
        runtime=config.runtime,
        payout_pct=default_payout_pct(config) if payout_pct is None else payout_pct,
        starting_balance=starting_balance,
    )


def make_setup(
    strategies: Sequence[StrategyLike] | StrategyLike,
    *,
    weights: Sequence[float] | None = None,
    calibration: Calibration | tuple[float, float] | None = None,
    risk: RiskConfig | Mapping[str, Any] | None = None,
    timeframe: str = "1m",
    expiry: str | None = None,
    payout_pct: float = 85.0,
    max_stake: float = 100.0,
    starting_balance: float = STARTING_BALANCE,
    runtime: RuntimeConfig | None = None,
    host: PluginHost | None = None,
    account_id: str = "research",
) -> ResearchSetup:
    """A setup for a notebook: strategies by name (or objects), weights, a calibration
    ``(A, B)`` or :class:`Calibration` (default: unfitted, p̂ = 0.5 -- nothing passes a
    break-even threshold), risk as a :class:`RiskConfig` or its dict."""
    host = _host(host)
    items = (
        [strategies]
        if isinstance(strategies, str | Strategy | StrategyConfig | Mapping)
        else (list(strategies))
    )
    built, names, default_weights = build_strategy_list(items, host.registry)
    if isinstance(calibration, tuple):
        calibration = Calibration(float(calibration[0]), float(calibration[1]), fitted=False)
    risk_config = (
        risk
        if isinstance(risk, RiskConfig)
        else RiskConfig.model_validate(dict(risk or {}), context={"registry": host.registry})
    )
    return ResearchSetup(
        strategies=tuple(built),
        names=tuple(names),
        weights=tuple(float(w) for w in (weights if weights is not None else default_weights)),
        calibration=calibration or UNFITTED,
        risk=risk_config,
        registry=host.registry,
        source=RegistryIndicatorSource(host.registry),
        account=AccountConfig(
            id=account_id,
            connector="replay",
            mode="paper",
            products=["INSTRUMENT"],
            timeframes=[timeframe],
            expiry=expiry,
            max_stake=max_stake,
        ),
        runtime=runtime or RuntimeConfig(),
        payout_pct=payout_pct,
        starting_balance=starting_balance,
    )
