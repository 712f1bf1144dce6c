"""The decision step: every worker due at one instant, decided in one synchronous pass.

At an instant the shell (the live worker, or the backtest's plain loop) has gathered the
workers whose bar just closed and their closed candles -- that is the I/O, done with
``await``. :func:`decide` then runs without yielding:

1. indicator state of every due series advances by its bar;
2. every strategy of every due series is evaluated through :func:`evaluate_strategies`,
   the step's one call site of strategy code; strategies that batch (a learned model
   served to many workers) make one call per group for all workers due;
3. per due worker, in order (so a worker's risk sees the orders opened by the workers
   decided before it, as one account's risk must): ensemble vote, risk, and the order
   handed to the executor (:meth:`~moonlight.core.runtime.trader.AccountTrader.decide`).

The executor's tasks only run once the shell yields again: decisions first, bookkeeping
after. A bar that is not tradable (paused worker, bar too late) still moves indicators
and strategies, so streaming state never skips a bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from moonlight.core.connectors.contract import Candle
from moonlight.core.execution.journal import OrderIntent
from moonlight.core.strategy.api import IndicatorValue, Signal
from moonlight.core.strategy.batch import evaluate_grouped
from moonlight.core.strategy.host import ERROR_SIGNAL, StrategyHost

if TYPE_CHECKING:
    from moonlight.core.runtime.worker import Worker

#: One strategy evaluation: the strategy's host, the closed bar, the indicator values.
Evaluation = tuple[StrategyHost, Candle, Mapping[str, IndicatorValue]]


@dataclass(frozen=True, slots=True)
class Due:
    """One worker's bar that closed at ``close_ts``; ``tradable`` when it may be decided."""

    worker: Worker
    bar: Candle
    close_ts: float
    tradable: bool


def evaluate_strategies(items: Sequence[Evaluation]) -> list[Signal]:
    """Every strategy evaluation of a step, in order; each isolated by its host (an
    error or an invalid signal becomes "no signal", never an exception).

    Strategies that batch (they override ``evaluate_many``, e.g. one learned model
    served to many workers) are evaluated together through
    :func:`~moonlight.core.strategy.batch.evaluate_grouped`, one call per group for all
    workers due at this instant; the others one by one, as their host always has.
    """
    signals = [
        ERROR_SIGNAL if host.batches else host.on_bar(bar, values) for host, bar, values in items
    ]
    batched = [i for i, (host, _, _) in enumerate(items) if host.batches]
    if batched:
        raw = evaluate_grouped([(items[i][0].strategy, items[i][1], items[i][2]) for i in batched])
        for i, signal in zip(batched, raw, strict=True):
            signals[i] = items[i][0].accept(signal)
    return signals


def decide(due: Sequence[Due]) -> list[OrderIntent]:
    """Advance, evaluate and decide every worker in ``due``; the orders handed to the
    executors, in decision order (see the module docstring)."""
    values = [d.worker.group.update(d.bar) for d in due]
    items: list[Evaluation] = [
        (host, d.bar, v)
        for d, v in zip(due, values, strict=True)
        if v is not None
        for host in d.worker.group.hosts
    ]
    signals = iter(evaluate_strategies(items))
    orders: list[OrderIntent] = []
    for d, v in zip(due, values, strict=True):
        worker = d.worker
        hosts = worker.group.hosts
        bar_signals = (
            [next(signals) for _ in hosts] if v is not None else [ERROR_SIGNAL] * len(hosts)
        )
        worker.seen(d.bar)
        if not d.tradable:
            continue
        intent = worker.trader.decide(worker.key, d.bar, bar_signals, worker.group, d.close_ts)
        if intent is not None:
            orders.append(intent)
    return orders
