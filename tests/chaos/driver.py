"""The fault driver: breaks every account's mock broker on cue and counts what it did.

The driver only uses the MockConnector's public fault switches (``faults``,
``drop_connection``), the same ones a scenario author would use by hand; what it adds
is bookkeeping — how many faults each switch actually delivered — so the reliability
table can state figures rather than intentions:

* queued faults (429 and 5xx storms) count as delivered once a call consumed them;
* random faults are counted as they are drawn (a counting :class:`FaultRates`);
* connection drops count one per drop;
* latency counts every call made while it was switched on.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from moonlight.core.connectors.mock import FaultKind, FaultRates, MockConnector


@dataclass
class CountingRates(FaultRates):
    """Random per-call faults that remember how many of each kind they drew."""

    drawn: Counter[str] = field(default_factory=Counter)

    def draw(self, rng: random.Random, *, placing: bool) -> FaultKind | None:
        fault = super().draw(rng, placing=placing)
        if fault is not None:
            self.drawn[fault.value] += 1
        return fault


class FaultDriver:
    """Switch faults on every mock broker of an engine; :attr:`delivered` counts them."""

    def __init__(self, brokers: dict[str, MockConnector]) -> None:
        self.brokers = brokers
        self.delivered: Counter[str] = Counter()
        self._queued: Counter[str] = Counter()
        self._latency_calls_at: dict[str, int] | None = None
        self._rates: list[CountingRates] = []
        self._pushes_since: float | None = None
        self._push_kinds: list[str] = []

    @property
    def total(self) -> int:
        """Every fault delivered so far (call :meth:`settle` first for queued storms)."""
        return sum(self.delivered.values())

    def storm_429(self, calls: int, retry_after_s: float) -> None:
        """The next ``calls`` requests of each kind, on every broker, answer 429."""
        for broker in self.brokers.values():
            broker.faults.storm_429(calls, retry_after_s)
            self._queued[FaultKind.RATE_LIMIT.value] += 2 * calls

    def storm_5xx(self, calls: int) -> None:
        """The next ``calls`` requests of each kind, on every broker, answer 503."""
        for broker in self.brokers.values():
            broker.faults.storm_5xx(calls)
            self._queued[FaultKind.SERVER_ERROR.value] += 2 * calls

    def drop_connections(self, reconnect_after_s: float) -> None:
        """Every broker drops its connection now and accepts calls again later."""
        for broker in self.brokers.values():
            broker.faults.reconnect_after_s = reconnect_after_s
            broker.drop_connection()
            self.delivered["disconnect"] += 1

    def latency(self, seconds: float) -> None:
        """Add ``seconds`` before every call of every broker (0 switches it off)."""
        if seconds > 0 and self._latency_calls_at is None:
            self._latency_calls_at = self._calls()
        if seconds == 0 and self._latency_calls_at is not None:
            self.settle()
            self._latency_calls_at = None
        for broker in self.brokers.values():
            broker.faults.latency_s = seconds

    def random_faults(self, *, retry_after_s: float = 1.0, **rates: float) -> None:
        """Seeded random faults per call (``rate_limit=0.1, timeout_after_accept=0.05``);
        ``rate_limit=1.0`` is a 429 storm for as long as it stays switched on."""
        for broker in self.brokers.values():
            broker.faults.retry_after_s = retry_after_s
            counting = CountingRates(**rates)
            self._rates.append(counting)
            broker.faults.rates = counting

    def push_anomalies(self, *, duplicate: bool, reorder: bool, drop: bool) -> None:
        """Duplicate, reorder or drop settlement pushes on every broker.

        Delivered counts are the settlements that happened while the switch was on (each
        one's push was duplicated, reordered or lost).
        """
        self._count_pushes()
        for broker in self.brokers.values():
            broker.faults.duplicate_pushes = duplicate
            broker.faults.reorder_pushes = reorder
            broker.faults.drop_pushes = drop
        self._pushes_since = next(iter(self.brokers.values())).clock.now()
        self._push_kinds = [
            kind
            for kind, on in (
                ("duplicate_push", duplicate),
                ("reordered_push", reorder),
                ("lost_push", drop),
            )
            if on
        ]

    def _count_pushes(self) -> None:
        if self._pushes_since is None:
            return
        now = next(iter(self.brokers.values())).clock.now()
        settled = sum(
            1
            for broker in self.brokers.values()
            for contract in broker.all_orders()
            if contract.settlement is not None
            and self._pushes_since <= contract.settlement.settled_ts < now
        )
        for kind in self._push_kinds:
            self.delivered[kind] += settled
        self._pushes_since = now

    def calm(self) -> None:
        """Switch every fault off (queued storms, random faults, latency, push anomalies)."""
        self.settle()
        self._latency_calls_at = None
        self._pushes_since = None
        for broker in self.brokers.values():
            broker.faults.clear()

    def settle(self) -> Counter[str]:
        """Count what has been delivered (queued faults consumed, random ones drawn)."""
        outstanding: Counter[str] = Counter()
        for broker in self.brokers.values():
            for fault in (*broker.faults.place, *broker.faults.query):
                outstanding[fault.value] += 1
        for kind, queued in self._queued.items():
            self.delivered[kind] += queued - outstanding[kind]
        self._queued = outstanding
        for counting in self._rates:
            self.delivered.update(counting.drawn)
            counting.drawn.clear()
        if self._latency_calls_at is not None:
            before, now = self._latency_calls_at, self._calls()
            self.delivered["latency"] += sum(now[k] - before.get(k, 0) for k in now)
            self._latency_calls_at = now
        self._count_pushes()
        return self.delivered

    def _calls(self) -> dict[str, int]:
        return {
            f"{name}/{op}": count
            for name, broker in self.brokers.items()
            for op, count in broker.calls.items()
        }
