"""The ``moonlight`` entry point of this distribution: registers the reference strategies.

Each strategy is registered as a :class:`~moonlight.core.plugins.ComponentSpec` whose
``factory`` is the strategy class (it takes the validated parameter model) and whose
``config_model`` is that parameter model, so ``strategies[].params`` in a configuration
is validated against the declared ranges.
"""

from __future__ import annotations

from moonlight.core.plugins import ComponentSpec, hookimpl
from moonlight.core.strategy.api import Strategy
from moonlight.strategies.basic.bollinger_reversion import BollingerReversion
from moonlight.strategies.basic.ema_rsi import EmaRsi
from moonlight.strategies.basic.ichimoku_trend import IchimokuTrend
from moonlight.strategies.basic.macd_cross import MacdCross
from moonlight.strategies.basic.stochastic_reversal import StochasticReversal
from moonlight.strategies.basic.supertrend_adx import SupertrendAdx
from moonlight.strategies.basic.vwap_rvol import VwapRvol

#: Every reference strategy class, in documentation order.
STRATEGIES: tuple[type[Strategy], ...] = (  # type: ignore[type-arg]
    EmaRsi,
    VwapRvol,
    SupertrendAdx,
    BollingerReversion,
    MacdCross,
    StochasticReversal,
    IchimokuTrend,
)


@hookimpl
def moonlight_register_strategies() -> list[ComponentSpec]:
    """One spec per reference strategy (nothing is built until a config asks for it)."""
    return [
        ComponentSpec(
            name=cls.name,
            factory=cls,
            summary=cls.summary,
            config_model=cls.params_model,
            interface_version=cls.interface_version,
        )
        for cls in STRATEGIES
    ]
