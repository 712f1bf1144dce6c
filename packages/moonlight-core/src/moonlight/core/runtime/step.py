"""The decision step: every worker due at one instant, decided in one synchronous pass.

At an instant the shell (the live worker, or the backtest's plain loop) has gathered the
workers whose bar just closed and their closed candles -- that is the I/O, done with
``await``. :func:`decide` then runs without yielding:

1. indicator state of every due series advances by its bar;
2. every strategy of every due series is evaluated through :func:`evaluate_strategies`,
   the step's one call site of strategy code (a batched evaluator over the same items
   can replace its loop without touching the rest of the step);
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
    error or an invalid signal becomes "no signal", never an exception)."""
    return [host.on_bar(bar, values) for host, bar, values in items]


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
