"""Prometheus metrics: exposition format, names and labels, per-engine registries, samples."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st
from prometheus_client.parser import text_string_to_metric_families

from moonlight.core.storage.models import MetricScope
from moonlight.core.telemetry.metrics import (
    CONTENT_TYPE,
    DECISION_LATENCY_BUCKETS_MS,
    EngineMetrics,
    IntervalHistogram,
    LatencyStage,
    ScopedValue,
    error_kind,
)


class RateLimited(Exception):
    pass


def _exercise(metrics: EngineMetrics) -> None:
    metrics.order_settled("acc1", "win", 8.2, instrument="EURUSD", timeframe="1m")
    metrics.order_settled("acc1", "lose", -10.0, instrument="EURUSD", timeframe="1m")
    metrics.order_settled("acc2", "push", 0.0, instrument="BTCUSD", timeframe="5m")
    metrics.guard_rejected("daily_loss_cap")
    metrics.guard_rejected("daily_loss_cap")
    metrics.order_latency(LatencyStage.TOTAL, 420.0)
    metrics.order_latency("send_to_ack", 80.0)
    metrics.decision_made("1m", 0.8)
    metrics.bar_lag("1m", 120.0)
    metrics.connector_error(RateLimited())
    metrics.set_workers({"running": 5, "paused": 1})


def test_render_is_prometheus_text_with_the_seed_names() -> None:
    metrics = EngineMetrics(process_metrics=False)
    _exercise(metrics)
    text = metrics.render().decode()
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    expected_types = {
        "orders": "counter",
        "guard_reject": "counter",
        "order_latency_ms": "histogram",
        "pnl_day": "gauge",
        "decision_latency_ms": "histogram",
        "bar_lag_ms": "histogram",
        "connector_errors": "counter",
        "workers": "gauge",
    }
    assert {name: families[name].type for name in expected_types} == expected_types
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families.values()
        for s in family.samples
    }
    assert samples[("orders_total", (("account", "acc1"), ("outcome", "win")))] == 1
    assert samples[("orders_total", (("account", "acc2"), ("outcome", "push")))] == 1
    assert samples[("guard_reject_total", (("reason", "daily_loss_cap"),))] == 2
    assert samples[("pnl_day", (("account", "acc1"),))] == pytest.approx(-1.8)
    assert samples[("order_latency_ms_count", (("stage", "total"),))] == 1
    assert samples[("order_latency_ms_sum", (("stage", "send_to_ack"),))] == 80.0
    assert samples[("decision_latency_ms_bucket", (("le", "1.0"), ("timeframe", "1m")))] == 1
    assert samples[("decision_latency_ms_bucket", (("le", "0.5"), ("timeframe", "1m")))] == 0
    assert samples[("bar_lag_ms_count", (("timeframe", "1m"),))] == 1
    assert samples[("connector_errors_total", (("kind", "rate_limited"),))] == 1
    assert samples[("workers", (("state", "running"),))] == 5
    assert "# HELP orders_total Settled orders by account and outcome." in text


def test_each_engine_has_its_own_registry() -> None:
    first, second = EngineMetrics(), EngineMetrics()
    first.guard_rejected("kill_switch")
    assert first.value("guard_reject_total", {"reason": "kill_switch"}) == 1
    assert second.value("guard_reject_total", {"reason": "kill_switch"}) is None
    assert b'guard_reject_total{reason="kill_switch"} 1.0' in first.render()
    assert b"kill_switch" not in second.render()


def test_process_collectors_are_optional() -> None:
    assert b"python_info" in EngineMetrics().render()
    assert b"python_info" not in EngineMetrics(process_metrics=False).render()


def test_invalid_labels_are_refused() -> None:
    metrics = EngineMetrics(process_metrics=False)
    with pytest.raises(ValueError):
        metrics.order_settled("acc1", "won", 1.0)
    with pytest.raises(ValueError):
        metrics.order_latency("warp", 1.0)


def test_workers_not_reported_again_drop_to_zero() -> None:
    metrics = EngineMetrics(process_metrics=False)
    metrics.set_workers({"running": 3, "paused": 2})
    metrics.set_workers({"running": 5})
    assert metrics.value("workers", {"state": "running"}) == 5
    assert metrics.value("workers", {"state": "paused"}) == 0


def test_day_rollover_and_restored_pnl() -> None:
    metrics = EngineMetrics(process_metrics=False)
    metrics.set_pnl_day("acc1", 12.5)
    metrics.order_settled("acc1", "win", 8.0)
    assert metrics.value("pnl_day", {"account": "acc1"}) == 20.5
    metrics.start_new_day()
    assert metrics.value("pnl_day", {"account": "acc1"}) == 0.0
    assert metrics.value("orders_total", {"account": "acc1", "outcome": "win"}) == 1


def test_error_kind_names() -> None:
    assert error_kind(RateLimited) == "rate_limited"
    assert error_kind(TimeoutError()) == "timeout_error"
    assert error_kind("AuthFailed") == "auth_failed"


def test_samples_cover_every_scope_and_reset_interval_values() -> None:
    metrics = EngineMetrics(process_metrics=False)
    _exercise(metrics)
    values = {(v.name, v.scope, v.scope_key): v.value for v in metrics.samples()}
    g, a, p, t = MetricScope.GLOBAL, MetricScope.ACCOUNT, MetricScope.PRODUCT, MetricScope.TIMEFRAME
    assert values[("orders_total", g, None)] == 3
    assert values[("pnl_day", g, None)] == pytest.approx(-1.8)
    assert values[("guard_reject_total", g, None)] == 2
    assert values[("workers_running", g, None)] == 5
    assert values[("connector_errors_total", g, None)] == 1
    assert values[("order_latency_ms_p90", g, None)] == pytest.approx(250 + 250 * 0.9 * 170 / 250)
    assert values[("bar_lag_ms_max", g, None)] == 120.0
    assert values[("orders_total", a, "acc1")] == 2
    assert values[("wins_total", a, "acc1")] == 1
    assert values[("pnl_day", a, "acc2")] == 0.0
    assert values[("orders_total", p, "EURUSD")] == 2
    assert values[("pnl_total", p, "EURUSD")] == pytest.approx(-1.8)
    assert values[("orders_total", t, "5m")] == 1
    assert values[("bar_lag_ms_max", t, "1m")] == 120.0
    assert 0.5 < values[("decision_latency_ms_p99", t, "1m")] <= 0.8
    # interval values are gone after a snapshot; cumulative ones stay
    again = {(v.name, v.scope, v.scope_key) for v in metrics.samples()}
    assert ("bar_lag_ms_max", t, "1m") not in again
    assert ("order_latency_ms_p90", g, None) not in again
    assert ("orders_total", a, "acc1") in again
    assert all(isinstance(v, ScopedValue) for v in metrics.samples())


def test_interval_quantiles_interpolate_within_buckets() -> None:
    histogram = IntervalHistogram(DECISION_LATENCY_BUCKETS_MS)
    assert math.isnan(histogram.quantile(0.99))
    for value in [0.2] * 98 + [3.0, 40.0]:
        histogram.observe(value)
    assert histogram.quantile(0.5) == pytest.approx(0.1 + 0.15 * 50 / 98)
    assert 2.5 < histogram.quantile(0.99) <= 5.0
    assert histogram.quantile(1.0) == pytest.approx(40.0)
    histogram.observe(5000.0)  # beyond the last bucket: the exact maximum is the answer
    assert histogram.quantile(1.0) == 5000.0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 6_000.0, allow_nan=False), min_size=1, max_size=60))
def test_decision_latency_seconds_counts_each_decision_in_its_millisecond_bucket(
    latencies_ms: list[float],
) -> None:
    """Every decision is one observation of ``moonlight_decision_latency_seconds`` on
    ``/metrics``, in seconds, in the first bucket whose bound is at or above it."""
    metrics = EngineMetrics(process_metrics=False)
    for index, latency_ms in enumerate(latencies_ms):
        metrics.decision_made(("1m", "5m", "15m")[index % 3], latency_ms)
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    family = families["moonlight_decision_latency_seconds"]
    assert family.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    bounds = [float(le) for le in buckets if le != "+Inf"]
    assert [b for b in bounds if b <= 0.005] == [0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005]
    for le, count in buckets.items():
        bound = math.inf if le == "+Inf" else float(le)
        assert count == sum(1 for ms in latencies_ms if ms / 1000.0 <= bound)
    total = next(s.value for s in family.samples if s.name.endswith("_count"))
    assert total == len(latencies_ms)
    seconds = next(s.value for s in family.samples if s.name.endswith("_sum"))
    assert seconds == pytest.approx(sum(latencies_ms) / 1000.0)
