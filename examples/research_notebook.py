# %% [markdown]
# # Research with MoonLight, notebook style
#
# Run it as a script (`python examples/research_notebook.py CANDLES.csv.gz`) or cell by
# cell in Jupyter/VS Code (the `# %%` markers). Without a file argument it uses the
# BTCUSDT test candles beside the project (`../shared/data`).
#
# What it shows:
# 1. loading candles and reading the validation report;
# 2. evaluating an ensemble on the whole history at once (signals, S, p̂, decisions,
#    outcomes, PnL) -- the same orders the event-driven backtest takes;
# 3. walk-forward: calibration fitted on each training window only;
# 4. a small parameter sweep ranked by an out-of-sample metric;
# 5. the same setup through the real engine on a simulated clock, for comparison.

# %%
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from moonlight.core.data.load import load_candles
from moonlight.core.research.evaluate import evaluate
from moonlight.core.research.setup import build_setup, make_spec
from moonlight.core.research.sweep import sweep
from moonlight.core.research.walkforward import walk_forward, walk_forward_splits

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/data/BTCUSDT_1m_2023_binance.csv.gz"
path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
bars = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000

# %% 1. Candles: loaded as they are, problems reported (never silently fixed)
candles = load_candles(path).slice(0, bars)
print(f"{len(candles):,} bars of {candles.instrument} at {candles.timeframe_s} s")
print(candles.report.format(limit=3))

# %% 2. One ensemble over the whole history
spec = make_spec(
    ["ema_rsi", "supertrend_adx", "bollinger_reversion"],
    calibration=(-2.5, 0.0),  # an assumed Platt mapping p_up = 1/(1+exp(A·S+B))
    risk={
        "threshold": 0.55,
        "margin": 0.01,
        "sizing": {"policy": "fixed", "params": {"stake_amount": 1}},
    },
    expiry="1m",
    payout_pct=85,
)
result = evaluate(candles, spec)
frame = result.bars  # one row per decided bar
print(frame[["S", "p_hat", "decision", "outcome", "pnl"]].tail())
print({key: result.summary[key] for key in ("trades", "win_rate", "breakeven_win_rate", "pnl")})

# %% 3. Walk-forward: calibrate on each training window, trade the next one
setup = build_setup(spec)
splits = walk_forward_splits(len(candles), folds=3)
forward = walk_forward(candles, setup, splits)
for fold in forward.folds:
    a, b = fold.calibration.a, fold.calibration.b
    print(f"fold {fold.split}: A={a:.3f} B={b:.3f} trades={fold.evaluation.summary['trades']}")
print("out of sample:", {k: forward.summary[k] for k in ("trades", "win_rate", "pnl", "brier")})

# %% 4. A sweep over a strategy parameter, the weights and the expiry
table = sweep(
    candles,
    spec,
    {
        "ema_rsi.fast_period": [5, 9],
        "weights": [(1.0, 1.0, 1.0), (2.0, 1.0, 0.5)],
        "expiry": ["1m", "2m"],
    },
    folds=2,
    calibrate=False,
    metric="expectancy_per_trade",
    workers=1,  # local processes by default; ray_address="auto" for a Ray cluster
)
print(table[["rank", "ema_rsi.fast_period", "weights", "expiry", "expectancy_per_trade",
             "oos_trades"]].head())  # fmt: skip

# %% 5. The same setup through the real engine (event-driven, simulated clock)
from moonlight.core.backtest.plugin import with_replay  # noqa: E402
from moonlight.core.backtest.runner import backtest_to_directory  # noqa: E402
from moonlight.core.config import MoonlightConfig  # noqa: E402

host = with_replay()
config = MoonlightConfig.model_validate(
    {
        "accounts": [{"id": "research", "connector": "paper", "mode": "paper",
                      "products": [candles.instrument], "timeframes": ["1m"], "expiry": "1m",
                      "max_stake": 100.0}],
        "strategies": [{"name": s.name, "weight": s.weight} for s in spec.strategies],
        "ensemble": {"paper_prior": {"a": spec.calibration.a, "b": spec.calibration.b}},
        "risk": spec.risk.model_dump(),
    },
    context={"registry": host.registry},
)  # fmt: skip
engine_run = backtest_to_directory(
    config, [candles.slice(0, 3000)], Path(tempfile.mkdtemp()) / "report", host=host
)
same = evaluate(candles.slice(0, 3000), spec)
print("engine orders:", engine_run.summary["trades"], "research orders:", same.summary["trades"])
assert list(engine_run.trades.client_req_id) == list(same.trades.client_req_id)
