"""The strategies distribution registers through the entry point; configs build them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from moonlight.core.config import ConfigError, load_config
from moonlight.core.config.models import StrategyConfig
from moonlight.core.plugins import ComponentKind, ComponentSpec, build_plugin_host, hookimpl
from moonlight.core.plugins.registry import Registry
from moonlight.core.strategy.api import Strategy
from moonlight.core.strategy.factory import (
    StrategyBuildError,
    all_registered,
    build_strategies,
    build_strategy,
)
from moonlight.strategies.basic.plugin import STRATEGIES


class _NeedsModel(BaseModel):
    model: str  # no default: the strategy cannot be built without configuration


class _Odd:
    """A plugin whose strategies misbehave when built."""

    @hookimpl
    def moonlight_register_strategies(self) -> list[ComponentSpec]:
        return [
            ComponentSpec("not_a_strategy", lambda: object(), "returns the wrong type"),
            ComponentSpec("explodes", lambda: 1 / 0, "raises when built"),
            ComponentSpec("future", lambda: None, "newer contract", interface_version=2),
            ComponentSpec("configured", lambda p: None, "needs a model", config_model=_NeedsModel),
        ]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return build_plugin_host(environ={}, extra_plugins=[("odd", _Odd())]).registry


def test_every_reference_strategy_is_registered_with_its_params_model(registry: Registry) -> None:
    names = set(registry.names(ComponentKind.STRATEGY))
    assert {cls.name for cls in STRATEGIES} <= names
    for cls in STRATEGIES:
        spec = registry.get(ComponentKind.STRATEGY, cls.name)
        assert spec.config_model is cls.params_model and spec.factory is cls
        assert spec.describe()["config_schema"]["properties"]


def test_config_entries_build_strategies_with_validated_params(registry: Registry) -> None:
    entries = [
        StrategyConfig(name="ema_rsi", weight=2.0, params={"fast_period": 5, "slow_period": 30}),
        StrategyConfig(name="bollinger_reversion"),
    ]
    built = build_strategies(entries, registry)
    ema: Strategy[Any] = built[0][1]
    assert built[0][0].weight == 2.0
    assert ema.params.fast_period == 5 and ema.params.rsi_period == 14  # type: ignore[attr-defined]
    assert [n.key for n in ema.needs][:2] == ["ema(timeperiod=5)", "ema(timeperiod=30)"]
    everything = [entry.name for entry in all_registered(registry)]
    assert "ichimoku_trend" in everything and "not_a_strategy" in everything
    assert "configured" not in everything  # a required parameter: only built when configured


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (StrategyConfig(name="nope"), "no plugin provides strategy 'nope'"),
        (StrategyConfig(name="ema_rsi", params={"fast_period": 30}), "fast_period must be"),
        (StrategyConfig(name="ema_rsi", params={"typo": 1}), "typo"),
        (StrategyConfig(name="not_a_strategy"), "not a Strategy"),
        (StrategyConfig(name="explodes"), "ZeroDivisionError"),
        (StrategyConfig(name="future"), "interface_version 2"),
    ],
)
def test_bad_entries_fail_at_build_time_with_the_reason(
    registry: Registry, entry: StrategyConfig, message: str
) -> None:
    with pytest.raises(StrategyBuildError, match=message):
        build_strategy(entry, registry)


def test_config_check_rejects_out_of_range_strategy_params(tmp_path: Any) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "strategies:\n  - name: macd_cross\n    params: {hist_full_atr: -1}\n", encoding="utf-8"
    )
    registry = build_plugin_host(environ={}).registry
    with pytest.raises(ConfigError) as caught:
        load_config(path, registry=registry)
    assert "hist_full_atr" in str(caught.value.issues[0])
