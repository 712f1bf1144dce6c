"""The failed-authentication throttle, on a hand-driven clock."""

from __future__ import annotations

from moonlight.server.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock) -> FailureThrottle:
    return FailureThrottle(failures_max=3, window_s=10.0, lockout_s=30.0, clock=clock)


def test_locks_out_after_max_failures_within_the_window() -> None:
    clock = Clock()
    throttle = make(clock)
    assert not throttle.failed("a")
    assert not throttle.failed("a")
    assert throttle.retry_after_s("a") == 0
    assert throttle.failed("a")
    assert throttle.retry_after_s("a") == 30.0
    clock.now += 29.0
    assert throttle.retry_after_s("a") == 1.0
    clock.now += 1.0
    assert throttle.retry_after_s("a") == 0


def test_failures_outside_the_window_do_not_add_up() -> None:
    clock = Clock()
    throttle = make(clock)
    for _ in range(10):
        assert not throttle.failed("a")
        clock.now += 5.0  # two failures per window at most
    assert throttle.retry_after_s("a") == 0


def test_clients_are_counted_separately() -> None:
    clock = Clock()
    throttle = make(clock)
    for _ in range(3):
        throttle.failed("a")
    assert throttle.retry_after_s("a") > 0
    assert throttle.retry_after_s("b") == 0
    assert not throttle.failed("b")


def test_memory_stays_bounded() -> None:
    clock = Clock()
    throttle = make(clock)
    for index in range(25_000):
        throttle.failed(f"10.0.{index // 256}.{index % 256}")
        clock.now += 0.001
    assert len(throttle._clients) <= 10_000
