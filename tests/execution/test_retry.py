"""Backoff: exponential, capped, jittered within bounds, never before Retry-After."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, strategies as st

from moonlight.core.execution.retry import Backoff


def test_delays_double_until_the_cap_without_jitter() -> None:
    backoff = Backoff(base_s=0.5, factor=2.0, cap_s=3.0, jitter=0.0)
    rng = random.Random(0)
    assert [backoff.delay_s(a, rng) for a in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@given(
    attempt=st.integers(0, 60),
    seed=st.integers(0, 2**32),
    retry_after=st.one_of(st.none(), st.floats(0.0, 120.0)),
)
def test_jittered_delay_stays_in_bounds_and_honours_retry_after(
    attempt: int, seed: int, retry_after: float | None
) -> None:
    backoff = Backoff(base_s=0.25, factor=2.0, cap_s=8.0, jitter=0.5)
    delay = backoff.delay_s(attempt, random.Random(seed), retry_after)
    raw = min(8.0, 0.25 * 2.0**attempt)
    assert delay >= raw * 0.5
    if retry_after is not None:
        assert delay >= retry_after  # even beyond the cap: a 429 says when to come back
    else:
        assert delay <= raw


def test_jitter_spreads_clients_apart() -> None:
    backoff = Backoff(jitter=0.5)
    delays = {round(backoff.delay_s(3, random.Random(seed)), 6) for seed in range(50)}
    assert len(delays) > 40


@pytest.mark.parametrize(
    "kwargs",
    [{"base_s": 0.0}, {"cap_s": 0.1, "base_s": 1.0}, {"factor": 0.5}, {"jitter": 1.5}],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)
