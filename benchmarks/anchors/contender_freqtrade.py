"""Freqtrade: the EMA 9/21 cross on the candle file (``freqtrade backtesting``'s engine).

Runs :class:`freqtrade.optimize.backtesting.Backtesting` in-process on the strategy in
``freqtrade_strategy/`` (long on a cross up, exit on the cross down, one open trade,
fixed stake, no fee) with the candles written as Freqtrade's feather data in a temporary
user directory before the clock starts. The timed part is what ``freqtrade backtesting``
does after start-up: build the backtester, load the pair's data, compute the
indicators and signals, run the trade loop and the statistics (no export).

The machine is offline, so Binance's market list is replaced by one BTC/USDT spot
market (``MARKET``) instead of being downloaded; nothing else is patched.

Run (Freqtrade's environment): ``python contender_freqtrade.py FILE [BARS]``
"""

from __future__ import annotations

import json
import logging
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
from common import WARMUP_BARS, Candles, arguments, load, measure, report
from freqtrade.configuration import Configuration
from freqtrade.enums import RunMode
from freqtrade.exchange.exchange import Exchange
from freqtrade.optimize.backtesting import Backtesting

HERE = Path(__file__).resolve().parent
#: Binance's BTC/USDT spot market as ccxt describes it (tick sizes: precision mode 4).
MARKET = {
    "id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT",
    "baseId": "BTC", "quoteId": "USDT", "active": True, "type": "spot", "spot": True,
    "margin": False, "swap": False, "future": False, "option": False, "contract": False,
    "linear": None, "inverse": None, "settle": None, "settleId": None,
    "contractSize": None, "expiry": None, "strike": None, "optionType": None,
    "taker": 0.001, "maker": 0.001, "percentage": True, "tierBased": False,
    "precision": {"amount": 0.00001, "price": 0.01},
    "limits": {"amount": {"min": 0.00001, "max": 9000.0}, "price": {"min": 0.01, "max": 1e6},
               "cost": {"min": 5.0, "max": 9e6}, "leverage": {"min": None, "max": None}},
    "info": {},
}  # fmt: skip


def _offline_markets(self: Exchange, reload: bool = False) -> None:
    self._api_async.set_markets([MARKET])


def user_directory(root: Path, candles: Candles) -> dict[str, Any]:
    """Write the feather data and the configuration under ``root``; return Freqtrade's config."""
    data = root / "data"
    data.mkdir(parents=True)
    frame = pd.DataFrame({"date": pd.to_datetime(candles.time, unit="s", utc=True),
                          "open": candles.open, "high": candles.high, "low": candles.low,
                          "close": candles.close, "volume": candles.volume})  # fmt: skip
    frame.to_feather(data / "BTC_USDT-1m.feather")
    settings = {
        "exchange": {"name": "binance", "key": "", "secret": "",
                     "pair_whitelist": ["BTC/USDT"], "pair_blacklist": []},
        "pairlists": [{"method": "StaticPairList"}],
        "stake_currency": "USDT", "stake_amount": 100, "dry_run_wallet": 1_000_000,
        "max_open_trades": 1, "timeframe": "1m", "dry_run": True, "fee": 0.0,
        "dataformat_ohlcv": "feather", "export": "none",
        "entry_pricing": {"price_side": "same"}, "exit_pricing": {"price_side": "same"},
    }  # fmt: skip
    (root / "config.json").write_text(json.dumps(settings), encoding="utf-8")
    arguments = {"config": [str(root / "config.json")], "user_data_dir": str(root),
                 "datadir": str(data), "strategy": "EmaCrossBench",
                 "strategy_path": str(HERE / "freqtrade_strategy"), "export": "none"}  # fmt: skip
    return Configuration(arguments, RunMode.BACKTEST).get_config()


def run(config: dict[str, Any]) -> int:
    backtesting = Backtesting(config)
    backtesting.start()
    return int(backtesting.results["strategy"]["EmaCrossBench"]["total_trades"])


def main() -> None:
    path, bars = arguments()
    candles = load(path, bars)
    Exchange._load_async_markets = _offline_markets  # type: ignore[method-assign]
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        warm = user_directory(root / "warm", candles.head(WARMUP_BARS))
        full = user_directory(root / "full", candles)
        figures = measure(run, warm, full, len(candles))
    report("freqtrade", version("freqtrade"), figures)


if __name__ == "__main__":
    main()
