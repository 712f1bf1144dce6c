"""MoonLight's event-driven backtest: the EMA cross plugin, or the shipped configuration.

``ema``: the outside plugin ``moonlight-ema-plugin`` (``ema_cross``, installed into
MoonLight's environment like any user's plugin) alone in the ensemble, one paper
account on BTCUSDT 1m, one-bar expiry, fixed stake, every cross traded (its calibrated
p̂ clears the threshold).

``shipped``: ``configs/config.yaml`` as shipped -- its five strategies, ensemble and
risk chain -- with its accounts replaced by one paper account on BTCUSDT 1m.

Both run ``run_backtest`` (the real engine on a fast-forward clock) on SQLite in a
temporary directory.

Run: ``python contender_moonlight.py ema|shipped FILE [BARS]``
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml
from common import WARMUP_BARS, arguments, measure, report

from moonlight.core.backtest.plugin import with_replay
from moonlight.core.backtest.runner import run_backtest
from moonlight.core.config import load_config
from moonlight.core.data.load import load_candles

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = {"id": "bench", "connector": "paper", "mode": "paper", "products": ["BTCUSDT"],
           "timeframes": ["1m"], "max_stake": 10.0,
           "connector_options": {"market": {"payout_pct": 85.0}}}  # fmt: skip
EMA_CONFIG: dict[str, Any] = {
    "strategies": [{"name": "ema_cross", "params": {"fast_period": 9, "slow_period": 21}}],
    "ensemble": {"paper_prior": {"a": -2.5}},
    "risk": {"threshold": 0.55, "margin": 0.01,
             "sizing": {"policy": "fixed", "params": {"stake_amount": 1}},
             "guards": [{"name": "kill_switch"}]},
}  # fmt: skip


def configuration(kind: str, folder: Path) -> Path:
    """Write the ``ema`` or ``shipped`` configuration into ``folder``; return its path."""
    if kind == "ema":
        data = dict(EMA_CONFIG)
    else:
        data = yaml.safe_load((ROOT / "configs" / "config.yaml").read_text(encoding="utf-8"))
        data.pop("server", None)
        data.pop("storage", None)
    data.update(data_dir=str(folder / "data"), accounts=[ACCOUNT],
                telemetry={"log_level": "WARNING"})  # fmt: skip
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def main() -> None:
    kind = sys.argv[1]
    if kind not in ("ema", "shipped"):
        raise SystemExit(f"usage: {sys.argv[0]} ema|shipped FILE [BARS]")
    path, bars = arguments(first=2)
    host = with_replay()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        config = load_config(configuration(kind, folder), registry=host.registry)
        series = load_candles(path, instrument="BTCUSDT")
        if bars:
            series = series.slice(0, bars)
        url = f"sqlite:///{(folder / 'bench.db').as_posix()}"

        def run(candles: Any) -> int:
            result = asyncio.run(run_backtest(config, [candles], host=host, storage_url=url))
            return int(result.summary["trades"])

        figures = measure(run, series.slice(0, WARMUP_BARS), series, len(series))
    name = "moonlight-ema-plugin" if kind == "ema" else "moonlight-shipped-5"
    report(name, version("moonlight-core"), figures)


if __name__ == "__main__":
    main()
