"""backtrader: the EMA 9/21 cross on the candle file (Cerebro, default settings).

Long on a cross up, flat on a cross down (``bt.ind.CrossOver`` of two EMAs), market
orders, no commission. Cerebro's defaults apply (indicators precomputed over the
preloaded data, then the event loop bar by bar). Fed from a ``PandasData`` frame built
before the clock starts.

Run (backtrader's environment): ``python contender_backtrader.py FILE [BARS]``
"""

from __future__ import annotations

from importlib.metadata import version

import backtrader as bt
import pandas as pd
from common import FAST, SLOW, WARMUP_BARS, Candles, arguments, load, measure, report


class EmaCross(bt.Strategy):  # type: ignore[misc]
    """Buy on a fast-over-slow cross, close on the cross back; count the entries."""

    def __init__(self) -> None:
        fast = bt.ind.EMA(period=FAST)
        slow = bt.ind.EMA(period=SLOW)
        self.cross = bt.ind.CrossOver(fast, slow)
        self.entries = 0

    def next(self) -> None:
        if self.cross[0] > 0 and not self.position:
            self.buy()
            self.entries += 1
        elif self.cross[0] < 0 and self.position:
            self.close()


def frame(candles: Candles) -> pd.DataFrame:
    columns = {"open": candles.open, "high": candles.high, "low": candles.low,
               "close": candles.close, "volume": candles.volume}  # fmt: skip
    return pd.DataFrame(columns, index=pd.to_datetime(candles.time, unit="s"))


def run(data: pd.DataFrame) -> int:
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=data))
    cerebro.addstrategy(EmaCross)
    cerebro.broker.setcash(1_000_000.0)
    (strategy,) = cerebro.run()
    return int(strategy.entries)


def main() -> None:
    path, bars = arguments()
    candles = load(path, bars)
    figures = measure(run, frame(candles.head(WARMUP_BARS)), frame(candles), len(candles))
    report("backtrader", version("backtrader"), figures)


if __name__ == "__main__":
    main()
