"""What one evaluation needs: a plain description (:class:`SetupSpec`) and its objects.

A :class:`SetupSpec` is one worker of one account written as configuration -- strategy
entries (name, weight, params), the calibration ``(A, B)`` in force, the risk
configuration, the account (timeframe, expiry, stake cap), the worker timing, the
broker's terms (payout, stake limits, durations) and the starting balance. It pickles,
so sweeps send it to other processes or a Ray cluster, and it is what sweep parameters
change (:meth:`SetupSpec.with_param`). :func:`build_setup` turns it into a
:class:`ResearchSetup` -- the built strategy objects plus the plugin registry and
indicator source -- the way the engine composes a worker.

:func:`spec_from_config` reads a spec from a MoonlightConfig; :func:`make_spec` builds
one from a few arguments in a notebook.
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

#: A strategy given by name, as a config entry, or as the entry's dict.
StrategyLike = str | StrategyConfig | Mapping[str, Any]


@dataclass(frozen=True)
class SetupSpec:
    """One worker of one account, as configuration; see the module docstring."""

    strategies: tuple[StrategyConfig, ...]
    calibration: Calibration
    risk: RiskConfig
    account: AccountConfig
    runtime: RuntimeConfig
    payout_pct: float = 85.0
    stake_min: float = 1.0
    stake_max: float = 1000.0
    durations_s: tuple[int, ...] = DEFAULT_DURATIONS_S
    starting_balance: float = STARTING_BALANCE
    #: L2 penalty of Platt fits made from this spec (walk-forward training windows).
    regularisation: float = 1e-3
    #: Fewest (S, outcome) pairs for a fit; below it the spec's calibration is kept.
    min_samples: int = 200
    #: Walk-forward refits from shadow outcomes, as the engine does (``calibration`` is
    #: then only what applies before the first fit); False keeps ``calibration`` fixed.
    walk_forward: bool = True
    refit_every: int = 50
    window: int = 5000

    @property
    def timeframe(self) -> str:
        """The worker's timeframe (the account's first)."""
        return self.account.timeframes[0]

    @property
    def weights(self) -> tuple[float, ...]:
        """The strategies' vote weights, in order."""
        return tuple(entry.weight for entry in self.strategies)

    def with_param(self, key: str, value: Any) -> SetupSpec:
        """A copy with one parameter changed. Keys:

        * ``"<strategy>.<param>"`` -- a strategy parameter (``"ema_rsi.fast_period"``);
        * ``"<strategy>.weight"`` -- that strategy's vote weight;
        * ``"weights"`` -- every weight at once (a sequence in strategy order);
        * ``"expiry"``, ``"timeframe"``, ``"max_stake"`` -- the account's;
        * ``"risk.<field>"`` -- a risk field (``"risk.threshold"``, ``"risk.margin"``);
        * ``"calibration"`` -- ``(A, B)``; ``"payout_pct"``, ``"starting_balance"``.
        """
        if key == "weights":
            weights = [float(w) for w in value]
            if len(weights) != len(self.strategies):
                raise ValueError(f"{len(weights)} weights for {len(self.strategies)} strategies")
            entries = tuple(
                e.model_copy(update={"weight": w})
                for e, w in zip(self.strategies, weights, strict=True)
            )
            return replace(self, strategies=entries)
        if key in ("expiry", "max_stake"):
            return replace(self, account=self.account.model_copy(update={key: value}))
        if key == "timeframe":
            return replace(self, account=self.account.model_copy(update={"timeframes": [value]}))
        if key == "calibration":
            a, b = value
            return replace(self, calibration=Calibration(float(a), float(b), fitted=False))
        if key == "payout_pct":
            return replace(self, payout_pct=float(value))
        if key == "starting_balance":
            return replace(self, starting_balance=float(value))
        head, dot, field = key.partition(".")
        if dot and head == "risk":
            risk = RiskConfig.model_validate({**self.risk.model_dump(), field: value})
            return replace(self, risk=risk)
        if dot:
            for i, entry in enumerate(self.strategies):
                if entry.name == head:
                    update = (
                        {"weight": float(value)}
                        if field == "weight"
                        else {"params": {**entry.params, field: value}}
                    )
                    changed = list(self.strategies)
                    changed[i] = entry.model_copy(update=update)
                    return replace(self, strategies=tuple(changed))
            raise KeyError(f"no strategy {head!r} in this setup (parameter {key!r})")
        raise KeyError(f"unknown parameter {key!r}")


@dataclass(frozen=True)
class ResearchSetup:
    """A spec with its objects built: strategies, plugin registry, indicator source."""

    spec: SetupSpec
    strategies: tuple[Strategy[Any], ...]
    names: tuple[str, ...]
    registry: Registry
    source: IndicatorSource

    @property
    def weights(self) -> tuple[float, ...]:
        return self.spec.weights

    @property
    def calibration(self) -> Calibration:
        return self.spec.calibration

    @property
    def risk(self) -> RiskConfig:
        return self.spec.risk

    @property
    def account(self) -> AccountConfig:
        return self.spec.account

    @property
    def runtime(self) -> RuntimeConfig:
        return self.spec.runtime

    def with_calibration(self, calibration: Calibration) -> ResearchSetup:
        """The same setup with another calibration (no strategy is rebuilt)."""
        return replace(self, spec=replace(self.spec, calibration=calibration))


def default_host() -> PluginHost:
    """The installed plugins plus the replay connector."""
    from moonlight.core.backtest.plugin import with_replay

    return with_replay()


def build_setup(spec: SetupSpec, host: PluginHost | None = None) -> ResearchSetup:
    """Build the spec's strategies from the registry (their params are validated)."""
    registry = (host or default_host()).registry
    strategies = tuple(build_strategy(entry, registry) for entry in spec.strategies)
    return ResearchSetup(
        spec=spec,
        strategies=strategies,
        names=tuple(entry.name for entry in spec.strategies),
        registry=registry,
        source=RegistryIndicatorSource(registry),
    )


def _entry(item: StrategyLike, registry: Registry) -> StrategyConfig:
    if isinstance(item, str):
        return StrategyConfig(name=item)
    if isinstance(item, StrategyConfig):
        return item
    return StrategyConfig.model_validate(dict(item), context={"registry": registry})


def spec_from_config(
    config: MoonlightConfig | str | Path,
    *,
    host: PluginHost | None = None,
    account_id: str | None = None,
    timeframe: str | None = None,
    calibration: Calibration | None = None,
    payout_pct: float | None = None,
    starting_balance: float = STARTING_BALANCE,
) -> SetupSpec:
    """The worker ``(account, timeframe)`` of ``config`` as the engine would compose it.

    The calibration is ``calibration`` when given, else the configuration's paper prior,
    else the unfitted mapping (p̂ = 0.5). The engine would prefer a fit stored in its
    database: pass that fit as ``calibration`` to evaluate the same decisions.
    """
    if not isinstance(config, MoonlightConfig):
        from moonlight.core.config import load_config

        config = load_config(Path(config), registry=(host or default_host()).registry)
    if not config.accounts:
        raise ValueError("the configuration has no account")
    account = (
        next((a for a in config.accounts if a.id == account_id), None)
        if account_id
        else config.accounts[0]
    )
    if account is None:
        raise ValueError(f"no account {account_id!r} in the configuration")
    if timeframe is not None:
        account = account.model_copy(update={"timeframes": [timeframe]})
    prior = config.ensemble.paper_prior
    chosen = calibration or (
        Calibration(prior.a, prior.b, fitted=False) if prior is not None else UNFITTED
    )
    return SetupSpec(
        strategies=tuple(config.strategies),
        calibration=chosen,
        risk=config.risk,
        account=account,
        runtime=config.runtime,
        payout_pct=default_payout_pct(config) if payout_pct is None else payout_pct,
        starting_balance=starting_balance,
        regularisation=config.ensemble.calibration.regularisation,
        min_samples=config.ensemble.calibration.min_samples,
        refit_every=config.ensemble.calibration.refit_every,
        window=config.ensemble.calibration.window,
    )


def make_spec(
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
    walk_forward: bool = True,
) -> SetupSpec:
    """A spec for a notebook: strategies by name (or config entries), weights, a
    calibration ``(A, B)`` or :class:`Calibration` (default: unfitted, p̂ = 0.5 --
    nothing passes a break-even threshold), risk as a :class:`RiskConfig` or its dict.
    With ``walk_forward`` (the default, as the engine) the calibration only applies until
    the walk-forward refits from shadow outcomes take over; False keeps it fixed."""
    registry = (host or default_host()).registry
    items = [strategies] if isinstance(strategies, str | StrategyConfig | Mapping) else strategies
    entries = tuple(_entry(item, registry) for item in items)
    if weights is not None:
        if len(weights) != len(entries):
            raise ValueError(f"{len(weights)} weights for {len(entries)} strategies")
        entries = tuple(
            e.model_copy(update={"weight": float(w)}) for e, w in zip(entries, weights, strict=True)
        )
    if isinstance(calibration, tuple):
        calibration = Calibration(float(calibration[0]), float(calibration[1]), fitted=False)
    risk_config = (
        risk
        if isinstance(risk, RiskConfig)
        else RiskConfig.model_validate(dict(risk or {}), context={"registry": registry})
    )
    return SetupSpec(
        strategies=entries,
        calibration=calibration or UNFITTED,
        risk=risk_config,
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
        walk_forward=walk_forward,
    )
