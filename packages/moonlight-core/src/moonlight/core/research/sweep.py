"""Parameter sweeps: grid or random search, judged out of sample, ranked.

``space`` maps parameter keys (see :meth:`SetupSpec.with_param`: strategy parameters
``"ema_rsi.fast_period"``, weights ``"weights"`` or ``"ema_rsi.weight"``, ``"expiry"``,
``"risk.threshold"`` ...) to the values to try. ``search="grid"`` tries every
combination; ``search="random"`` tries ``samples`` of them, drawn without repetition
with ``seed``. Every candidate runs a walk-forward evaluation
(:mod:`moonlight.core.research.walkforward`: calibration fitted on each training window
only) and is scored on its test windows' orders together.

The result is a pandas DataFrame, one row per candidate, with the parameters, the
out-of-sample figures, each fold's metric, and ``error`` for a candidate that could not
run (invalid parameters): it is reported and ranked last, never silently dropped.
Every candidate also gets its edge p-value and the Holm-adjusted one for the number of
candidates tried (:mod:`moonlight.core.research.multiple`), ``significant`` when the
adjusted value is below ``alpha``. Ranking is by the adjusted p-value, then ``metric``
(any summary figure: ``expectancy_per_trade``, ``pnl``, ``win_rate``, ``roi``,
``brier``...; ``minimize=True`` for error-like figures); ``adjusted=False`` ranks by
``metric`` alone. ``table.attrs["chance"]`` says how many candidates would have looked
profitable by chance (positive PnL, raw p < alpha) and how many survive the adjustment.

Candidates run in parallel (:mod:`moonlight.core.research.parallel`): local processes by
default, a Ray cluster with ``ray_address``.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.optional import DataFrame, pandas
from moonlight.core.plugins.host import PluginHost
from moonlight.core.research.multiple import ALPHA, chance_report, edge_p, holm
from moonlight.core.research.parallel import run_tasks
from moonlight.core.research.setup import SetupSpec, build_setup, default_host
from moonlight.core.research.walkforward import Split, walk_forward, walk_forward_splits

if TYPE_CHECKING:
    pass

#: Summary figures copied into each result row (prefixed ``oos_``).
FIGURES = (
    "trades",
    "wins",
    "losses",
    "win_rate",
    "breakeven_win_rate",
    "expectancy_per_trade",
    "pnl",
    "roi",
    "max_drawdown",
    "brier",
    "ece",
)


def candidates(
    space: Mapping[str, Sequence[Any]],
    *,
    search: str = "grid",
    samples: int | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """The parameter combinations to try (see the module docstring)."""
    keys = list(space)
    values = [list(space[key]) for key in keys]
    if any(not v for v in values):
        raise ValueError("every parameter needs at least one value")
    total = math.prod(len(v) for v in values)
    if search == "grid":
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
    if search != "random":
        raise ValueError(f"search must be 'grid' or 'random', not {search!r}")
    wanted = min(samples or 10, total)
    rng = random.Random(seed)
    picked = rng.sample(range(total), wanted)
    combos = []
    for number in picked:
        combo = {}
        for key, options in zip(reversed(keys), reversed(values), strict=True):
            number, index = divmod(number, len(options))
            combo[key] = options[index]
        combos.append({key: combo[key] for key in keys})
    return combos


@dataclass(frozen=True)
class SweepPayload:
    """What every task of a sweep shares (sent once per worker process)."""

    series: CandleSeries
    base: SetupSpec
    splits: tuple[Split, ...]
    calibrate: bool
    metric: str


_HOSTS: list[PluginHost] = []


def _run_candidate(payload: SweepPayload, params: dict[str, Any]) -> dict[str, Any]:
    """Walk-forward one candidate; errors become a row with ``error`` set."""
    row: dict[str, Any] = dict(params)
    try:
        spec = payload.base
        for key, value in params.items():
            spec = spec.with_param(key, value)
        setup = build_setup(spec, _host())
        result = walk_forward(payload.series, setup, payload.splits, calibrate=payload.calibrate)
    except Exception as error:  # a bad candidate is a result, not a crash of the sweep
        row["error"] = f"{type(error).__name__}: {error}"
        row[payload.metric] = math.nan
        return row
    summary = result.summary
    row[payload.metric] = _number(summary.get(payload.metric))
    for figure in FIGURES:
        row[f"oos_{figure}"] = _number(summary.get(figure))
    for i, fold in enumerate(result.folds):
        row[f"fold{i}_{payload.metric}"] = _number(fold.evaluation.summary.get(payload.metric))
        row[f"fold{i}_calibration"] = (fold.calibration.a, fold.calibration.b)
    row["error"] = ""
    return row


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _host() -> PluginHost:
    """One plugin host per process (building it loads every plugin)."""
    if not _HOSTS:
        _HOSTS.append(default_host())
    return _HOSTS[0]


def sweep(
    data: CandleSeries,
    base: SetupSpec,
    space: Mapping[str, Sequence[Any]],
    *,
    search: str = "grid",
    samples: int | None = None,
    seed: int = 0,
    splits: Sequence[Split] | None = None,
    folds: int = 4,
    calibrate: bool = True,
    metric: str = "expectancy_per_trade",
    minimize: bool = False,
    workers: int | None = None,
    ray_address: str | None = None,
    adjusted: bool = True,
    alpha: float = ALPHA,
) -> DataFrame:
    """Try every candidate of ``space`` out of sample and rank them; see the module doc."""
    pd = pandas()
    chosen_splits = tuple(splits or walk_forward_splits(len(data), folds=folds))
    payload = SweepPayload(data, base, chosen_splits, calibrate, metric)
    combos = candidates(space, search=search, samples=samples, seed=seed)
    rows = run_tasks(_run_candidate, payload, combos, workers=workers, ray_address=ray_address)
    table = pd.DataFrame(rows)
    failed = table["error"].astype(bool)
    p_values = [
        math.nan
        if row["error"]
        else edge_p(
            row.get("oos_wins", math.nan),
            row.get("oos_losses", math.nan),
            row.get("oos_breakeven_win_rate", math.nan),
        )
        for row in table.to_dict("records")
    ]
    table["edge_p"] = p_values
    table["edge_p_holm"] = holm(p_values)
    table["significant"] = table["edge_p_holm"] < alpha
    keys = ["_failed", "edge_p_holm", metric] if adjusted else ["_failed", metric]
    ascending = [True, True, minimize] if adjusted else [True, minimize]
    ordered = table.assign(_failed=failed).sort_values(
        keys, ascending=ascending, na_position="last", kind="stable"
    )
    ranked = ordered.drop(columns="_failed").reset_index(drop=True)
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    ranked.attrs["chance"] = chance_report(ranked, alpha=alpha)
    return ranked
