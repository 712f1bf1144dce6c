"""Evaluate every worker due at one instant with one batched call per strategy group.

The decision step takes the path once per instant for all workers due (see the design
brief), so the strategies of 120 workers serving one learned model can share one
inference call instead of making 120. :func:`evaluate_grouped` is that merge point:

* items are grouped by ``(type(strategy), strategy.batch_key())`` -- by default every
  strategy instance is its own group (:meth:`~.api.Strategy.batch_key`), a batching
  strategy groups the instances that share its expensive call (the learned strategy:
  one group per model);
* each group makes ONE call, ``type(strategy).evaluate_many(group_items)``, with its
  items in input order;
* the signals come back in input order, so ``signals[i]`` belongs to ``items[i]``.

Contract (the synchronous decision step relies on it; keep the signature)::

    evaluate_grouped(
        items: Sequence[tuple[Strategy, BarLike, Mapping[str, IndicatorValue]]],
    ) -> list[Signal]

The result equals ``[s.evaluate(bar, values) for s, bar, values in items]`` (property
tested): every strategy's streaming state advances exactly once per item, in input order
within its group. The results are raw strategy verdicts, as ``evaluate`` returns them:
warm-up masking and validation stay with the caller (the host's rules apply unchanged).

Isolation: a group whose call raises, or returns a different number of signals than it
was given items, gets :data:`~.host.ERROR_SIGNAL` for each of its items, is logged on the
``moonlight.strategy`` logger and never affects another group. The group is not
evaluated again item by item: its streaming state may already have advanced, and a
second pass would advance it twice. Because a non-batching strategy is a group of one,
only the workers sharing a batched call share its failure.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from moonlight.core.strategy.api import BarLike, IndicatorValue, Signal, Strategy, StrategyItem
from moonlight.core.strategy.host import ERROR_SIGNAL

log = logging.getLogger("moonlight.strategy")


def evaluate_grouped(
    items: Sequence[tuple[Strategy[Any], BarLike, Mapping[str, IndicatorValue]]],
) -> list[Signal]:
    """One signal per item, in input order, with one ``evaluate_many`` call per group.

    See the module docstring for the grouping, the equality with the per-item loop and
    how a failing group is isolated.
    """
    groups: dict[tuple[type[Any], Hashable], list[int]] = {}
    for index, (strategy, _, _) in enumerate(items):
        groups.setdefault((type(strategy), strategy.batch_key()), []).append(index)
    signals: list[Signal] = [ERROR_SIGNAL] * len(items)
    for (cls, _), members in groups.items():
        batch: list[StrategyItem] = [items[i] for i in members]
        try:
            result = list(cls.evaluate_many(batch))
        except Exception as exc:  # strategy code: isolate the group
            log.error(
                "strategy %r: evaluate_many raised for %d item(s): %s: %s",
                getattr(cls, "name", cls.__name__),
                len(members),
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
            continue
        if len(result) != len(members):
            log.error(
                "strategy %r: evaluate_many returned %d signals for %d items",
                getattr(cls, "name", cls.__name__),
                len(result),
                len(members),
            )
            continue
        for index, signal in zip(members, result, strict=True):
            signals[index] = signal
    return signals
