"""Freqtrade strategy for the anchor benchmark: EMA 9/21 cross, long only, spot.

Enter long where the fast EMA crosses above the slow one, exit where it crosses back
below; no ROI target and no stop-loss in reach, so the cross alone decides. Indicators
come from TA-Lib through Freqtrade's vectorised ``populate_*`` methods, as Freqtrade
strategies are usually written.
"""

from __future__ import annotations

import talib.abstract as ta
from freqtrade.strategy import IStrategy
from pandas import DataFrame

FAST, SLOW = 9, 21


class EmaCrossBench(IStrategy):  # type: ignore[misc]
    """EMA fast/slow cross (see the module docstring)."""

    INTERFACE_VERSION = 3
    timeframe = "1m"
    minimal_roi = {"0": 100.0}  # noqa: RUF012 -- Freqtrade reads it as a class attribute
    stoploss = -0.99
    startup_candle_count = SLOW
    process_only_new_candles = True

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["fast"] = ta.EMA(dataframe, timeperiod=FAST)
        dataframe["slow"] = ta.EMA(dataframe, timeperiod=SLOW)
        difference = dataframe["fast"] - dataframe["slow"]
        dataframe["cross"] = (difference > 0).astype(int) - (difference.shift(1) > 0).astype(int)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["cross"] > 0, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["cross"] < 0, "exit_long"] = 1
        return dataframe
