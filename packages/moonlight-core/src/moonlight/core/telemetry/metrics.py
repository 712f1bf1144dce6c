"""The engine's Prometheus metrics, behind a small typed facade.

Each engine owns an :class:`EngineMetrics` with its own
:class:`~prometheus_client.CollectorRegistry` (never the process-global default), so
several engines — or several tests — can live in one process. The engine calls the
facade (``order_settled``, ``guard_rejected``, ``decision_made``…); the server serves
:meth:`EngineMetrics.render` at ``/metrics``; the snapshot task stores
:meth:`EngineMetrics.samples` in the ``metrics`` table.

Exposed series (units in the names; label values are bounded sets):

==========================  =========  ====================================================
name                        type       labels
==========================  =========  ====================================================
orders_total                counter    account, outcome (win, lose, push, abort)
guard_reject_total          counter    reason (the guard's reason code)
order_latency_ms            histogram  stage (total, decision_to_send, send_to_ack,
                                       expiry_to_settlement)
pnl_day                     gauge      account (account currency)
decision_latency_ms         histogram  timeframe (bar close → decision handed to the
                                       executor)
bar_lag_ms                  histogram  timeframe (bar close → candle received)
connector_errors_total      counter    kind (rate_limited, transient, rejected…)
workers                     gauge      state (running, paused, …)
==========================  =========  ====================================================

and ``moonlight_decision_latency_seconds``, a histogram without labels: bar close →
decision in seconds, one observation per worker decision, with a bucket every
millisecond up to 5 ms -- the operator's view of a synchronised close
(``histogram_quantile(0.99, rate(moonlight_decision_latency_seconds_bucket[5m]))``).

Per-worker and per-product labels are deliberately absent from Prometheus (120 workers ×
buckets would be thousands of series); the per-product and per-timeframe breakdowns go
to storage snapshots instead, from small tallies this class keeps beside the metrics.
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    exposition,
    generate_latest,
)

from moonlight.core.orders import Outcome
from moonlight.core.storage.models import MetricScope

CONTENT_TYPE: Final[str] = getattr(exposition, "CONTENT_TYPE_PLAIN_0_0_4", CONTENT_TYPE_LATEST)
"""The HTTP Content-Type of :meth:`EngineMetrics.render`: Prometheus text format 0.0.4,
which every Prometheus version scrapes (all names here are classic ASCII names)."""

ORDER_LATENCY_BUCKETS_MS: Final = (
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 30000.0,
    60000.0,
)  # fmt: skip
DECISION_LATENCY_BUCKETS_MS: Final = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0,
)  # fmt: skip
DECISION_LATENCY_BUCKETS_S: Final = (
    0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
    0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
)  # fmt: skip
BAR_LAG_BUCKETS_MS: Final = (
    10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0,
)  # fmt: skip


class LatencyStage(StrEnum):
    """Which part of an order's life a latency measures (the ``stage`` label)."""

    TOTAL = "total"
    DECISION_TO_SEND = "decision_to_send"
    SEND_TO_ACK = "send_to_ack"
    EXPIRY_TO_SETTLEMENT = "expiry_to_settlement"


@dataclass(frozen=True, slots=True)
class ScopedValue:
    """One value for the ``metrics`` table: a name, a scope and its key."""

    name: str
    value: float
    scope: MetricScope = MetricScope.GLOBAL
    scope_key: str | None = None


def error_kind(error: BaseException | type[BaseException] | str) -> str:
    """The ``kind`` label for a connector error: ``RateLimited`` → ``rate_limited``."""
    name = (
        error
        if isinstance(error, str)
        else (error.__name__ if isinstance(error, type) else type(error).__name__)
    )
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class IntervalHistogram:
    """Bucket counts of one snapshot interval, for quantiles; reset after each snapshot.

    Quantiles interpolate linearly inside a bucket, as Prometheus' ``histogram_quantile``
    does, so they are estimates with the bucket's resolution; the maximum is exact.
    """

    __slots__ = ("bounds", "count", "counts", "maximum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.maximum = -math.inf

    def observe(self, value: float) -> None:
        """Count ``value`` in its bucket."""
        self.counts[bisect_left(self.bounds, value)] += 1  # bucket i holds v <= bounds[i]
        self.count += 1
        self.maximum = max(self.maximum, value)

    def quantile(self, q: float) -> float:
        """Estimated ``q``-quantile (0 < q ≤ 1); NaN when empty."""
        if self.count == 0:
            return math.nan
        rank = q * self.count
        cumulative = 0
        for index, bucket_count in enumerate(self.counts):
            if bucket_count and cumulative + bucket_count >= rank:
                if index == len(self.bounds):  # +Inf bucket: the best we know is the max
                    return self.maximum
                lower = self.bounds[index - 1] if index else 0.0
                upper = min(self.bounds[index], self.maximum)
                fraction = (rank - cumulative) / bucket_count
                return lower + (max(upper, lower) - lower) * fraction
            cumulative += bucket_count
        return self.maximum

    def reset(self) -> None:
        """Start a new interval."""
        self.counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.maximum = -math.inf


@dataclass(slots=True)
class _Tally:
    orders: int = 0
    wins: int = 0
    pnl: float = 0.0


class EngineMetrics:
    """One engine's metrics: Prometheus series plus tallies for storage snapshots.

    Thread-safe. ``process_metrics`` adds the standard process, platform and GC
    collectors (CPU seconds, resident memory, open file descriptors where the platform
    reports them) to this engine's registry.
    """

    def __init__(self, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._orders = Counter(
            "orders_total", "Settled orders by account and outcome.",
            ["account", "outcome"], registry=registry,
        )  # fmt: skip
        self._guard_rejects = Counter(
            "guard_reject_total", "Decisions blocked by a risk guard, by reason code.",
            ["reason"], registry=registry,
        )  # fmt: skip
        self._order_latency = Histogram(
            "order_latency_ms", "Order latency in milliseconds, by stage.",
            ["stage"], buckets=ORDER_LATENCY_BUCKETS_MS, registry=registry,
        )  # fmt: skip
        self._pnl_day = Gauge(
            "pnl_day", "Profit and loss of the current trading day, account currency.",
            ["account"], registry=registry,
        )  # fmt: skip
        self._decision_latency = Histogram(
            "decision_latency_ms",
            "Bar close to decision handed to the executor, milliseconds, by timeframe.",
            ["timeframe"], buckets=DECISION_LATENCY_BUCKETS_MS, registry=registry,
        )  # fmt: skip
        self._decision_seconds = Histogram(
            "moonlight_decision_latency_seconds",
            "Bar close to decision, seconds, one observation per worker decision.",
            buckets=DECISION_LATENCY_BUCKETS_S, registry=registry,
        )  # fmt: skip
        self._bar_lag = Histogram(
            "bar_lag_ms", "Bar close to closed candle received, milliseconds, by timeframe.",
            ["timeframe"], buckets=BAR_LAG_BUCKETS_MS, registry=registry,
        )  # fmt: skip
        self._connector_errors = Counter(
            "connector_errors_total", "Connector errors by kind.", ["kind"], registry=registry
        )
        self._workers = Gauge(
            "workers", "Workers by life-cycle state.", ["state"], registry=registry
        )
        if process_metrics:
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)

        self._lock = threading.Lock()
        self._accounts: dict[str, _Tally] = {}
        self._products: dict[str, _Tally] = {}
        self._timeframes: dict[str, _Tally] = {}
        self._worker_states: dict[str, int] = {}
        self._guard_total = 0
        self._connector_error_total = 0
        self._order_latency_interval = IntervalHistogram(ORDER_LATENCY_BUCKETS_MS)
        self._decision_interval: dict[str, IntervalHistogram] = {}
        self._bar_lag_interval: dict[str, IntervalHistogram] = {}
        # Label children cached for the per-bar hot path (labels() costs a lock + lookup).
        self._decision_children: dict[str, Histogram] = {}
        self._bar_lag_children: dict[str, Histogram] = {}

    # ------------------------------------------------------------- engine facade

    def order_settled(
        self,
        account: str,
        outcome: Outcome | str,
        pnl: float,
        *,
        instrument: str | None = None,
        timeframe: str | None = None,
    ) -> None:
        """An order reached its outcome: count it and add ``pnl`` to the account's day."""
        outcome = Outcome(outcome)
        self._orders.labels(account, outcome.value).inc()
        with self._lock:
            tally = self._accounts.setdefault(account, _Tally())
            tally.orders += 1
            tally.wins += outcome is Outcome.WIN
            tally.pnl += pnl
            day_pnl = tally.pnl
            for key, table in ((instrument, self._products), (timeframe, self._timeframes)):
                if key is not None:
                    scoped = table.setdefault(key, _Tally())
                    scoped.orders += 1
                    scoped.wins += outcome is Outcome.WIN
                    scoped.pnl += pnl
        self._pnl_day.labels(account).set(day_pnl)

    def set_pnl_day(self, account: str, pnl: float) -> None:
        """Set an account's day P&L (start-up from storage, or the risk day's figure)."""
        with self._lock:
            self._accounts.setdefault(account, _Tally()).pnl = pnl
        self._pnl_day.labels(account).set(pnl)

    def start_new_day(self) -> None:
        """The trading day rolled over: every account's ``pnl_day`` goes back to 0."""
        with self._lock:
            accounts = list(self._accounts)
            for account in accounts:
                self._accounts[account].pnl = 0.0
        for account in accounts:
            self._pnl_day.labels(account).set(0.0)

    def order_latency(self, stage: LatencyStage | str, latency_ms: float) -> None:
        """Record one order stage's latency (``total`` feeds the snapshot's p90)."""
        stage = LatencyStage(stage)
        self._order_latency.labels(stage.value).observe(latency_ms)
        if stage is LatencyStage.TOTAL:
            with self._lock:
                self._order_latency_interval.observe(latency_ms)

    def guard_rejected(self, reason: str) -> None:
        """A guard blocked a decision; ``reason`` is its (bounded) reason code."""
        self._guard_rejects.labels(reason).inc()
        with self._lock:
            self._guard_total += 1

    def decision_made(self, timeframe: str, latency_ms: float) -> None:
        """A worker decided; ``latency_ms`` from bar close to the executor hand-off."""
        child = self._decision_children.get(timeframe)
        if child is None:
            child = self._decision_children[timeframe] = self._decision_latency.labels(timeframe)
        child.observe(latency_ms)
        self._decision_seconds.observe(latency_ms / 1000.0)
        with self._lock:
            interval = self._decision_interval.get(timeframe)
            if interval is None:
                interval = IntervalHistogram(DECISION_LATENCY_BUCKETS_MS)
                self._decision_interval[timeframe] = interval
            interval.observe(latency_ms)

    def bar_lag(self, timeframe: str, lag_ms: float) -> None:
        """A closed candle arrived ``lag_ms`` after its bar closed."""
        child = self._bar_lag_children.get(timeframe)
        if child is None:
            child = self._bar_lag_children[timeframe] = self._bar_lag.labels(timeframe)
        child.observe(lag_ms)
        with self._lock:
            interval = self._bar_lag_interval.get(timeframe)
            if interval is None:
                interval = IntervalHistogram(BAR_LAG_BUCKETS_MS)
                self._bar_lag_interval[timeframe] = interval
            interval.observe(lag_ms)

    def connector_error(self, kind: BaseException | type[BaseException] | str) -> None:
        """A connector call failed; ``kind`` is an error, its class, or a label."""
        self._connector_errors.labels(error_kind(kind)).inc()
        with self._lock:
            self._connector_error_total += 1

    def set_workers(self, counts: Mapping[str, int]) -> None:
        """How many workers are in each state now; states not given drop to 0."""
        with self._lock:
            states = set(self._worker_states) | set(counts)
            self._worker_states = {state: int(counts.get(state, 0)) for state in states}
            current = dict(self._worker_states)
        for state, count in current.items():
            self._workers.labels(state).set(count)

    # ------------------------------------------------------------------ readers

    def render(self) -> bytes:
        """Prometheus text exposition of this engine's registry (for ``/metrics``)."""
        return generate_latest(self.registry)

    def value(self, name: str, labels: Mapping[str, str] | None = None) -> float | None:
        """One sample's current value from the registry (``orders_total`` etc.)."""
        return self.registry.get_sample_value(name, dict(labels or {}))

    def samples(self) -> list[ScopedValue]:
        """Values to snapshot into storage; starts a new interval for interval values.

        Cumulative since start: ``orders_total``, ``wins_total``, ``pnl_total``,
        ``guard_reject_total``, ``connector_errors_total``; current: ``pnl_day``,
        ``workers_running``; over the interval since the previous call (only when
        something was observed): ``order_latency_ms_p90``, ``decision_latency_ms_p99``,
        ``bar_lag_ms_max``.
        """
        out: list[ScopedValue] = []
        acc, prod, tf = MetricScope.ACCOUNT, MetricScope.PRODUCT, MetricScope.TIMEFRAME
        with self._lock:
            out += [
                ScopedValue("orders_total", sum(t.orders for t in self._accounts.values())),
                ScopedValue("pnl_day", sum(t.pnl for t in self._accounts.values())),
                ScopedValue("guard_reject_total", self._guard_total),
                ScopedValue("connector_errors_total", self._connector_error_total),
                ScopedValue("workers_running", self._worker_states.get("running", 0)),
            ]
            if self._order_latency_interval.count:
                out.append(
                    ScopedValue("order_latency_ms_p90", self._order_latency_interval.quantile(0.9))
                )
            all_decisions = _merged(self._decision_interval.values(), DECISION_LATENCY_BUCKETS_MS)
            if all_decisions.count:
                out.append(ScopedValue("decision_latency_ms_p99", all_decisions.quantile(0.99)))
            lags = [h.maximum for h in self._bar_lag_interval.values() if h.count]
            if lags:
                out.append(ScopedValue("bar_lag_ms_max", max(lags)))
            for account, tally in sorted(self._accounts.items()):
                out += [
                    ScopedValue("orders_total", tally.orders, acc, account),
                    ScopedValue("wins_total", tally.wins, acc, account),
                    ScopedValue("pnl_day", tally.pnl, acc, account),
                ]
            for product, tally in sorted(self._products.items()):
                out += [
                    ScopedValue("orders_total", tally.orders, prod, product),
                    ScopedValue("wins_total", tally.wins, prod, product),
                    ScopedValue("pnl_total", tally.pnl, prod, product),
                ]
            timeframes = sorted(
                set(self._timeframes) | set(self._decision_interval) | set(self._bar_lag_interval)
            )
            for timeframe in timeframes:
                tf_tally = self._timeframes.get(timeframe)
                if tf_tally is not None:
                    out.append(ScopedValue("orders_total", tf_tally.orders, tf, timeframe))
                decisions = self._decision_interval.get(timeframe)
                if decisions is not None and decisions.count:
                    p99 = decisions.quantile(0.99)
                    out.append(ScopedValue("decision_latency_ms_p99", p99, tf, timeframe))
                lag = self._bar_lag_interval.get(timeframe)
                if lag is not None and lag.count:
                    out.append(ScopedValue("bar_lag_ms_max", lag.maximum, tf, timeframe))
            self._order_latency_interval.reset()
            for histogram in (*self._decision_interval.values(), *self._bar_lag_interval.values()):
                histogram.reset()
        return out


def _merged(histograms: Iterable[IntervalHistogram], bounds: Sequence[float]) -> IntervalHistogram:
    merged = IntervalHistogram(bounds)
    for histogram in histograms:
        merged.counts = [a + b for a, b in zip(merged.counts, histogram.counts, strict=True)]
        merged.count += histogram.count
        merged.maximum = max(merged.maximum, histogram.maximum)
    return merged
