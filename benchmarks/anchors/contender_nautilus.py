"""NautilusTrader: the EMA 9/21 cross on the candle file (low-level ``BacktestEngine``).

Long on a cross up, flat on a cross down, market orders of 0.01 BTC on a simulated
Binance spot venue (cash account, netting), bars registered to two built-in
``ExponentialMovingAverage`` indicators. Logging bypassed. The bars are built before the
clock starts; engine set-up and ``run()`` are timed.

Run (NautilusTrader's environment, Python >= 3.12): ``python contender_nautilus.py FILE [BARS]``
"""

from __future__ import annotations

from decimal import Decimal
from importlib.metadata import version
from typing import Any

from common import FAST, SLOW, WARMUP_BARS, Candles, arguments, load, measure, report
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.indicators import ExponentialMovingAverage
from nautilus_trader.model.currencies import BTC, USDT
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import TraderId, Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

INSTRUMENT = TestInstrumentProvider.btcusdt_binance()
BAR_TYPE = BarType.from_str(f"{INSTRUMENT.id}-1-MINUTE-LAST-EXTERNAL")


class EmaCrossConfig(StrategyConfig, frozen=True):
    """No parameters beyond the shared FAST/SLOW: one configuration type per strategy."""


class EmaCross(Strategy):  # type: ignore[misc]
    """Buy on a fast-over-slow cross, close on the cross back; count the entries."""

    def __init__(self) -> None:
        super().__init__(EmaCrossConfig())
        self.fast = ExponentialMovingAverage(FAST)
        self.slow = ExponentialMovingAverage(SLOW)
        self.previous = float("nan")
        self.entries = 0

    def on_start(self) -> None:
        self.register_indicator_for_bars(BAR_TYPE, self.fast)
        self.register_indicator_for_bars(BAR_TYPE, self.slow)
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        if not self.slow.initialized:
            return
        difference = self.fast.value - self.slow.value
        before, self.previous = self.previous, difference
        flat = self.portfolio.is_flat(INSTRUMENT.id)
        if difference > 0.0 and before <= 0.0 and flat:
            order = self.order_factory.market(
                INSTRUMENT.id, OrderSide.BUY, INSTRUMENT.make_qty(Decimal("0.01"))
            )
            self.submit_order(order)
            self.entries += 1
        elif difference < 0.0 and before >= 0.0 and not flat:
            self.close_all_positions(INSTRUMENT.id)


def wrangle(candles: Candles) -> list[Bar]:
    """Nautilus bars, stamped at their close (``ts_event`` = open + 1 minute)."""
    price, quantity = INSTRUMENT.make_price, INSTRUMENT.make_qty
    return [
        Bar(BAR_TYPE, price(o), price(h), price(low), price(c), quantity(v), ns, ns)
        for o, h, low, c, v, ns in zip(
            candles.open, candles.high, candles.low, candles.close, candles.volume,
            ((t + 60) * 1_000_000_000 for t in candles.time), strict=True,
        )
    ]  # fmt: skip


def run(bars: list[Bar]) -> int:
    engine = BacktestEngine(BacktestEngineConfig(
        trader_id=TraderId("BENCH-001"),
        logging=LoggingConfig(log_level="ERROR", bypass_logging=True),
    ))  # fmt: skip
    engine.add_venue(venue=Venue("BINANCE"), oms_type=OmsType.NETTING,
                     account_type=AccountType.CASH, base_currency=None,
                     starting_balances=[Money(1_000_000, USDT), Money(10, BTC)])  # fmt: skip
    engine.add_instrument(INSTRUMENT)
    engine.add_data(bars)
    strategy = EmaCross()
    engine.add_strategy(strategy)
    engine.run()
    entries = strategy.entries
    engine.dispose()
    return entries


def main() -> None:
    path, bars = arguments()
    candles = load(path, bars)
    warm: Any = wrangle(candles.head(WARMUP_BARS))
    figures = measure(run, warm, wrangle(candles), len(candles))
    report("nautilus-trader", version("nautilus_trader"), figures)


if __name__ == "__main__":
    main()
