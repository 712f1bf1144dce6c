"""Client-side pacing: Deriv's per-class budgets hold in every window, a spent budget
refuses before sending (RateLimited with the exact wait), and the wire rate is bounded."""

from __future__ import annotations

import asyncio

import pytest

from moonlight.connectors.deriv.config import DerivRateLimits
from moonlight.connectors.deriv.ratelimit import RateLimiter, SlidingWindow, call_class
from moonlight.core.connectors.contract import RateLimited
from moonlight.core.runtime.clock import ScaledClock
from tests.connectors.deriv.conftest import MakeConnector, order
from tests.connectors.deriv.fake_server import FakeDerivServer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_calls_are_classed_as_documented() -> None:
    assert {call_class(c) for c in ("proposal", "proposal_open_contract", "buy")} == {"trading"}
    assert call_class("portfolio") == call_class("profit_table") == "reports"
    assert call_class("balance") == "balance" and call_class("ticks_history") == "general"
    assert call_class("ping") == "ping"


def test_a_window_never_admits_more_than_its_limit() -> None:
    window = SlidingWindow(limit=3, window_s=60.0)
    stamps = [0.0, 10.0, 20.0]
    for stamp in stamps:
        assert window.wait_s(stamp) == 0.0
        window.record(stamp)
    assert window.wait_s(30.0) == pytest.approx(30.0)  # until the call at 0 leaves
    assert window.wait_s(60.0) == 0.0


async def test_a_spent_budget_refuses_before_sending_with_the_exact_wait() -> None:
    clock = FakeTime()
    limiter = RateLimiter(DerivRateLimits(reports_per_min=2), max_wait_s=1.0, monotonic=clock)
    await limiter.acquire("portfolio")
    limiter.release("portfolio")
    clock.now += 15.0
    await limiter.acquire("profit_table")
    limiter.release("profit_table")
    clock.now += 5.0
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire("portfolio")
    assert refused.value.retry_after_s == pytest.approx(40.0)
    assert limiter.refused == 1
    await limiter.acquire("balance")  # other classes keep their own budget


def test_a_server_rate_limit_holds_the_class_back() -> None:
    clock = FakeTime()
    limiter = RateLimiter(DerivRateLimits(), max_wait_s=1.0, monotonic=clock)
    assert limiter.penalise("buy", 5.0) == pytest.approx(5.0)
    assert limiter.wait_s("proposal") == pytest.approx(5.0)
    assert limiter.wait_s("time") == 0.0
    clock.now += 5.0
    assert limiter.wait_s("proposal") == 0.0


async def test_a_call_counts_until_it_ends_so_a_slow_send_cannot_overrun_the_server() -> None:
    """Issue 14 item 11: under load a call admitted at 0 s reached the server at 0.5 s;
    the 31st call, admitted at 60.0 s, reached it at once -- 31 calls in the server's
    minute against a budget of 30. A call is now stamped when it ends (its reply came,
    so the server had it by then), and one in flight never leaves the window."""
    clock = FakeTime()
    limiter = RateLimiter(DerivRateLimits(reports_per_min=30), max_wait_s=0.0, monotonic=clock)
    start = clock.now
    await limiter.acquire("portfolio")  # the slow one: answered 0.5 s later
    clock.now += 0.5
    limiter.release("portfolio")
    for _ in range(29):
        await limiter.acquire("profit_table")
        limiter.release("profit_table")
    clock.now = start + 60.0
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire("portfolio")
    assert refused.value.retry_after_s == pytest.approx(0.5)
    clock.now = start + 60.5
    await limiter.acquire("portfolio")
    # a call still in flight holds its place however long it takes
    window = SlidingWindow(limit=1, window_s=60.0)
    window.open()
    assert window.wait_s(10_000.0) == 60.0
    window.close(10_000.0)
    assert window.wait_s(10_059.0) == pytest.approx(1.0)
    window.close(10_060.0, sent=False)  # a call never written is not counted
    assert window.wait_s(10_060.0) == 0.0


async def test_the_hour_budget_binds_too() -> None:
    clock = FakeTime()
    limiter = RateLimiter(
        DerivRateLimits(general_per_min=100, general_per_hour=3), max_wait_s=0.0, monotonic=clock
    )
    for _ in range(3):
        await limiter.acquire("time")
        limiter.release("time")
        clock.now += 120.0
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire("time")
    assert refused.value.retry_after_s == pytest.approx(3600.0 - 360.0)


async def test_the_wire_rate_stays_within_the_budget(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector(
        rate_limits=DerivRateLimits(general_per_min=10, ping_per_s=4), rate_wait_s=0.0
    )
    await connector.connect()  # authorize + time: two general calls
    sent = refused = 0
    for _ in range(12):
        try:
            await connector.server_time()
            sent += 1
        except RateLimited as error:
            refused += 1
            assert 0 < error.retry_after_s <= 60.0
    assert (sent, refused) == (8, 4)
    assert server.calls_of("time") == 1 + 8  # refused calls never reached the server
    # pings: at most 4 a second, waited for rather than refused
    session = connector.link.session(ready=True)
    connector.limiter.max_wait_s = 2.0
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(12):
        await session.request({"ping": 1}, call="ping", timeout_s=2.0)
    assert loop.time() - started >= 1.9  # 12 pings at 4/s: two full windows of waiting
    assert connector.limiter.waited_s > 0


async def test_a_server_rate_limit_answer_slows_the_next_calls(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector(rate_limit_retry_s=1.5, rate_wait_s=0.5)
    await connector.connect()
    server.faults.rate_limit["proposal"] = 1
    with pytest.raises(RateLimited) as first:
        await connector.place_order(order(clock, "pace-1"))
    assert first.value.retry_after_s == pytest.approx(1.5)
    with pytest.raises(RateLimited, match="client-side budget"):
        await connector.place_order(order(clock, "pace-1"))
    assert server.calls_of("proposal") == 1  # the second refusal never left the client
    await asyncio.sleep(1.5)
    await connector.place_order(order(clock, "pace-1"))
    assert len(server.contracts) == 1
