"""The ``replay`` connector plugin: an account that trades candle files on paper.

Configured like any connector::

    accounts:
      - id: research
        connector: replay
        mode: paper              # orders go to the paper broker
        products: [EURUSD]
        timeframes: [1m]
        connector_options:
          payout_pct: 85
          files:
            - {path: EURUSD_M1_2017H1.csv.gz, instrument: EURUSD}

The factory loads every file (:func:`moonlight.core.data.load.load_candles`) and returns
a :class:`~moonlight.core.backtest.replay.ReplayConnector` on the engine's clock.
``moonlight backtest`` builds the same connector from ``--data`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.backtest.replay import DEFAULT_DURATIONS_S, ReplayConnector
from moonlight.core.data.load import load_candles
from moonlight.core.plugins.host import PluginHost
from moonlight.core.plugins.markers import hookimpl
from moonlight.core.plugins.specs import ComponentSpec
from moonlight.core.runtime.clock import Clock, WallClock
from moonlight.core.timeframes import Timeframe

_FROZEN = ConfigDict(frozen=True, extra="forbid")
PLUGIN_MODULE = __name__


class ReplayFile(BaseModel):
    """One candle file of the replay."""

    model_config = _FROZEN

    path: Path = Field(description="Candle file (CSV/HistData/MetaTrader, gzip ok; Parquet).")
    instrument: str | None = Field(
        default=None, description="Instrument name; default: taken from the file name."
    )
    timeframe: Timeframe | None = Field(
        default=None, description="Bar timeframe; default: the most common bar spacing."
    )
    format: Literal["auto", "csv", "histdata", "mt4", "mt5", "parquet"] = Field(
        default="auto", description="File format; auto recognises it from the content."
    )
    timezone: str | None = Field(
        default=None,
        description="Timezone of naive times in the file (IANA name); HistData defaults"
        " to its documented EST without DST.",
    )


class ReplayConnectorConfig(BaseModel):
    """Historical candles served on the engine's clock, with a fixed payout table."""

    model_config = _FROZEN

    files: list[ReplayFile] = Field(min_length=1, description="The candle files to replay.")
    payout_pct: float = Field(
        default=85.0, gt=0, le=1000, description="Payout of every instrument, percent of stake."
    )
    stake_min: float = Field(default=1.0, gt=0, description="Smallest accepted stake.")
    stake_max: float = Field(default=1000.0, gt=0, description="Largest accepted stake.")
    durations_s: list[int] = Field(
        default_factory=lambda: list(DEFAULT_DURATIONS_S),
        min_length=1,
        description="Contract durations offered, in seconds.",
    )
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3,5}$", description="Currency.")


def make_replay(
    config: ReplayConnectorConfig,
    *,
    secrets: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    **_: Any,
) -> ReplayConnector:
    """Load the configured files and serve them on ``clock``."""
    series = [
        load_candles(
            item.path,
            format=item.format,
            instrument=item.instrument,
            timeframe=item.timeframe,
            timezone=item.timezone,
        )
        for item in config.files
    ]
    return ReplayConnector(
        series,
        clock=clock or WallClock(),
        payout_pct=config.payout_pct,
        stake_min=config.stake_min,
        stake_max=config.stake_max,
        durations_s=config.durations_s,
        currency=config.currency,
    )


@hookimpl
def moonlight_register_connectors() -> Sequence[ComponentSpec]:
    """The ``replay`` connector."""
    return [
        ComponentSpec(
            name=ReplayConnector.name,
            factory=make_replay,
            summary="Historical candle files replayed on the engine's clock (trade on paper)",
            config_model=ReplayConnectorConfig,
        )
    ]


def with_replay(extra_plugins: Sequence[tuple[str, object]] = ()) -> PluginHost:
    """A plugin host that knows the ``replay`` connector: registered directly unless it
    is already one of the built-in plugins."""
    import sys

    from moonlight.core.plugins import build_plugin_host
    from moonlight.core.plugins.host import BUILTIN_PLUGINS

    if PLUGIN_MODULE in BUILTIN_PLUGINS:
        return build_plugin_host(extra_plugins=extra_plugins)
    return build_plugin_host(
        extra_plugins=[*extra_plugins, ("moonlight-replay", sys.modules[PLUGIN_MODULE])]
    )
