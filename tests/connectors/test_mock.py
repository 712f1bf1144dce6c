"""MockConnector and its market: determinism, the settlement rule, every fault switch."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from moonlight.core.connectors.contract import (
    Ambiguous,
    AuthFailed,
    Disconnected,
    OrderRequest,
    RateLimited,
    Rejected,
    Settlement,
    Transient,
)
from moonlight.core.connectors.market import RandomWalkMarket
from moonlight.core.connectors.mock import FaultKind, MockConnector
from moonlight.core.connectors.settlement import settle_contract
from moonlight.core.orders import Direction, Outcome
from moonlight.core.plugins import ComponentKind, build_plugin_host
from moonlight.core.runtime.clock import FastForwardClock

T0 = 1_700_000_000.0


def _request(cid: str, **overrides: object) -> OrderRequest:
    values: dict[str, object] = {
        "client_req_id": cid,
        "account_id": "acc",
        "instrument": "EURUSD",
        "direction": Direction.UP,
        "stake": 10.0,
        "duration_s": 60,
        "created_ts": T0,
    }
    values.update(overrides)
    return OrderRequest(**values)  # type: ignore[arg-type]


async def _mock(seed: int = 1, **kwargs: object) -> MockConnector:
    mock = MockConnector(seed=seed, clock=FastForwardClock(T0), **kwargs)  # type: ignore[arg-type]
    await mock.connect()
    return mock


# -- market --------------------------------------------------------------------------


def test_market_is_a_pure_function_of_seed_and_origin() -> None:
    a = RandomWalkMarket(seed=3, origin_ts=T0)
    b = RandomWalkMarket(seed=3, origin_ts=T0)
    c = RandomWalkMarket(seed=4, origin_ts=T0)
    ts = T0 + 5_000.5
    assert b.price_at("EURUSD", ts + 3_000) is not None  # b grows in another order
    assert a.price_at("EURUSD", ts) == b.price_at("EURUSD", ts)
    assert a.price_at("EURUSD", ts) != c.price_at("EURUSD", ts)
    assert a.price_at("EURUSD", T0 - 1) is None
    assert a.first_price_after("EURUSD", ts)[0] == T0 + 5_001


def test_candles_are_consistent_aligned_ohlc_of_the_ticks() -> None:
    market = RandomWalkMarket(seed=2, origin_ts=T0)
    candles = market.candles("GBPUSD", 60, count=30, end_ts=T0 + 3_000)
    assert len(candles) == 30
    for candle in candles:
        assert candle.start_ts % 60 == 0
        times, prices = market.ticks("GBPUSD", candle.start_ts - 0.5, candle.end_ts - 0.5)
        assert len(prices) == 60 and times[0] == candle.start_ts
        assert candle.open == prices[0] and candle.close == prices[-1]
        assert candle.high == prices.max() and candle.low == prices.min()
        assert candle.volume > 0
    assert candles[-1].end_ts <= T0 + 3_000
    assert [c.start_ts for c in candles] == sorted({c.start_ts for c in candles})


def test_intraday_volatility_is_higher_in_the_london_new_york_overlap() -> None:
    day = 86_400.0
    origin = math.floor(T0 / day) * day  # a UTC midnight
    market = RandomWalkMarket(seed=9, origin_ts=origin)

    def realised(hour: int) -> float:
        vols = []
        for d in range(6):
            start = origin + d * day + hour * 3600
            _, prices = market.ticks("EURUSD", start, start + 3600)
            vols.append(np.std(np.diff(np.log(prices))))
        return float(np.mean(vols))

    assert realised(14) > 2.0 * realised(2)  # busiest overlap vs quiet Asian hours


def test_settlement_rule() -> None:
    up_win = settle_contract(Direction.UP, 10.0, 82.0, 1.1, 1.2)
    assert (up_win.outcome, up_win.pnl, up_win.credit) == (Outcome.WIN, 8.2, 18.2)
    down_win = settle_contract(Direction.DOWN, 10.0, 82.0, 1.2, 1.1)
    assert down_win.outcome is Outcome.WIN
    lose = settle_contract(Direction.UP, 10.0, 82.0, 1.2, 1.1)
    assert (lose.outcome, lose.pnl, lose.credit) == (Outcome.LOSE, -10.0, 0.0)
    push = settle_contract(Direction.DOWN, 10.0, 82.0, 1.15, 1.15)
    assert (push.outcome, push.pnl, push.credit) == (Outcome.PUSH, 0.0, 10.0)


# -- orders and settlement --------------------------------------------------------------


async def test_orders_settle_on_the_market_prices_and_move_the_balance() -> None:
    mock = await _mock(seed=5)
    try:
        settlements = mock.subscribe_settlements("acc")
        ack = await mock.place_order(_request("a", duration_s=30))
        assert ack.expires_ts == ack.accepted_ts + 30
        assert (await mock.balance("acc")).amount == 10_000 - 10
        settlement = await anext(settlements)  # type: ignore[call-overload]
        assert isinstance(settlement, Settlement) and settlement.client_req_id == "a"
        market = mock.market
        assert market is not None
        _, entry = market.first_price_after("EURUSD", ack.accepted_ts)
        exit_price = market.price_at("EURUSD", ack.expires_ts)
        assert settlement.entry_price == entry and settlement.exit_price == exit_price
        assert exit_price is not None
        expected = settle_contract(Direction.UP, 10.0, 82.0, entry, exit_price)
        assert settlement.outcome is expected.outcome and settlement.pnl == expected.pnl
        assert (await mock.balance("acc")).amount == pytest.approx(10_000 + expected.pnl)
        status = await mock.order_status("acc", ack.broker_order_id)
        assert status is not None and status.settlement == settlement
        assert await mock.open_orders("acc") == []
    finally:
        await mock.close()


async def test_the_mock_does_not_deduplicate_like_a_real_broker() -> None:
    mock = await _mock()
    try:
        await mock.place_order(_request("same"))
        await mock.place_order(_request("same"))
        assert mock.placements("same") == 2
        found = await mock.find_order(_request("same"))
        assert found is not None and found.client_req_id == "same"
        assert await mock.find_order(_request("other")) is None
    finally:
        await mock.close()


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"stake": 0.5}, "stake 0.5 outside"),
        ({"duration_s": 61}, "duration 61 s not offered"),
        ({"instrument": "XAUUSD"}, "unknown instrument"),
        ({"min_payout_pct": 90.0}, "payout 82% below requested 90%"),
        ({"stake": 1000.0, "account_id": "poor"}, "insufficient balance"),
    ],
)
async def test_rejections(overrides: dict[str, object], reason: str) -> None:
    mock = await _mock(starting_balance=500.0)
    try:
        with pytest.raises(Rejected, match=reason):
            await mock.place_order(_request("r", **overrides))
        assert mock.placements("r") == 0
    finally:
        await mock.close()


# -- faults ------------------------------------------------------------------------------


async def test_429_storm_carries_retry_after_then_clears() -> None:
    mock = await _mock()
    try:
        mock.faults.storm_429(2, retry_after_s=4.0)
        for _ in range(2):
            with pytest.raises(RateLimited) as raised:
                await mock.place_order(_request("a"))
            assert raised.value.retry_after_s == 4.0
        await mock.place_order(_request("a"))
        with pytest.raises(RateLimited):
            await mock.balance("acc")  # queries had their own two 429s queued
        assert mock.placements("a") == 1
    finally:
        await mock.close()


async def test_5xx_auth_and_reject_faults() -> None:
    mock = await _mock()
    try:
        mock.faults.place.extend([FaultKind.SERVER_ERROR, FaultKind.AUTH, FaultKind.REJECT])
        with pytest.raises(Transient):
            await mock.place_order(_request("a"))
        with pytest.raises(AuthFailed):
            await mock.place_order(_request("a"))
        with pytest.raises(Rejected):
            await mock.place_order(_request("a"))
        assert mock.placements("a") == 0
    finally:
        await mock.close()


async def test_timeouts_before_and_after_acceptance_are_ambiguous() -> None:
    mock = await _mock()
    try:
        mock.faults.timeout_s = 3.0
        mock.faults.place.extend([FaultKind.TIMEOUT_BEFORE_ACCEPT, FaultKind.TIMEOUT_AFTER_ACCEPT])
        started = mock.clock.now()
        with pytest.raises(Ambiguous):
            await mock.place_order(_request("lost"))
        assert mock.clock.now() - started == pytest.approx(3.0)
        assert mock.placements("lost") == 0
        with pytest.raises(Ambiguous):
            await mock.place_order(_request("kept"))
        assert mock.placements("kept") == 1  # the broker has it; only the answer was lost
    finally:
        await mock.close()


async def test_disconnect_fails_subscriptions_loses_pushes_and_reconnects() -> None:
    mock = await _mock()
    try:
        mock.faults.reconnect_after_s = 5.0
        ticks = mock.subscribe_ticks("EURUSD")
        settlements = mock.subscribe_settlements("acc")
        await mock.place_order(_request("a", duration_s=5))
        mock.faults.place.append(FaultKind.DISCONNECT)
        with pytest.raises(Disconnected):
            await mock.place_order(_request("b"))
        with pytest.raises(Disconnected):
            await anext(ticks)  # type: ignore[call-overload]
        with pytest.raises(Disconnected):
            await anext(settlements)  # type: ignore[call-overload]
        with pytest.raises(Disconnected):
            await mock.balance("acc")
        assert not mock.connected
        await mock.clock.sleep_until(mock.clock.now() + 5.0)  # type: ignore[attr-defined]
        assert mock.connected
        order = (await mock.find_order(_request("a"))) or pytest.fail("order a lost")
        assert order.settlement is not None  # settled meanwhile; its push was lost
    finally:
        await mock.close()


async def test_latency_is_added_to_every_call() -> None:
    mock = await _mock()
    try:
        mock.faults.latency_s = 1.5
        mock.faults.ack_latency_s = 2.0
        started = mock.clock.now()
        await mock.balance("acc")
        assert mock.clock.now() - started == pytest.approx(1.5)
        started = mock.clock.now()
        await mock.place_order(_request("a"))
        assert mock.clock.now() - started == pytest.approx(3.5)
    finally:
        await mock.close()


async def _collect(mock: MockConnector, n: int, durations: list[int]) -> list[Settlement]:
    sub = mock.subscribe_settlements("acc")
    for i, duration in enumerate(durations):
        await mock.place_order(_request(f"o{i}", duration_s=duration))
    return [await anext(sub) for _ in range(n)]  # type: ignore[call-overload]


async def test_duplicate_pushes() -> None:
    mock = await _mock()
    try:
        mock.faults.duplicate_pushes = True
        got = await _collect(mock, 4, [5, 15])
        assert [s.client_req_id for s in got] == ["o0", "o0", "o1", "o1"]
    finally:
        await mock.close()


async def test_reordered_pushes() -> None:
    mock = await _mock()
    try:
        mock.faults.reorder_pushes = True
        got = await _collect(mock, 2, [5, 15])
        assert [s.client_req_id for s in got] == ["o1", "o0"]
    finally:
        await mock.close()


async def test_dropped_pushes_still_settle_in_the_book() -> None:
    mock = await _mock()
    try:
        mock.faults.drop_pushes = True
        sub = mock.subscribe_settlements("acc")
        await mock.place_order(_request("o", duration_s=5))
        await mock.clock.sleep_until(mock.clock.now() + 10)  # type: ignore[attr-defined]
        assert mock.all_orders()[0].settlement is not None
        mock.faults.drop_pushes = False
        await mock.place_order(_request("p", duration_s=5))
        assert (await anext(sub)).client_req_id == "p"  # type: ignore[call-overload]
    finally:
        await mock.close()


async def test_random_fault_rates_are_reproducible_from_the_seed() -> None:
    async def pattern(seed: int) -> list[str]:
        mock = await _mock(seed=seed)
        mock.faults.rates.rate_limit = 0.2
        mock.faults.rates.server_error = 0.2
        outcome = []
        for i in range(40):
            try:
                await mock.place_order(_request(f"r{i}", stake=1.0))
                outcome.append("ok")
            except (RateLimited, Transient) as error:
                outcome.append(type(error).__name__)
        await mock.close()
        return outcome

    first, again, other = await pattern(3), await pattern(3), await pattern(4)
    assert first == again and first != other
    assert {"ok", "RateLimited", "Transient"} == set(first)


async def test_the_book_survives_a_new_process_through_its_state_file(tmp_path: Path) -> None:
    state = tmp_path / "broker.json"
    clock = FastForwardClock(T0)
    first = MockConnector(seed=8, clock=clock, state_path=state)
    await first.connect()
    ack = await first.place_order(_request("kept", duration_s=60))
    await first.close()

    second = MockConnector(seed=8, clock=clock, state_path=state)  # "after the restart"
    await second.connect()
    try:
        assert second.placements("kept") == 1
        await clock.sleep_until(T0 + 70)
        order = await second.order_status("acc", ack.broker_order_id)
        assert order is not None and order.settlement is not None
        market = RandomWalkMarket(seed=8, origin_ts=second.market.origin_ts)  # type: ignore[union-attr]
        _, entry = market.first_price_after("EURUSD", ack.accepted_ts)
        assert order.settlement.entry_price == entry  # same prices in the new process
        with pytest.raises(ValueError, match="seed"):
            MockConnector(seed=9, clock=clock, state_path=state)
    finally:
        await second.close()


def test_mock_is_registered_as_a_builtin_connector() -> None:
    host = build_plugin_host(environ={"MOONLIGHT_DISABLE_PLUGINS": "*"})
    spec = host.registry.get(ComponentKind.CONNECTOR, "mock")
    model = spec.config_model
    assert model.model_config.get("frozen") and model.model_config.get("extra") == "forbid"
    assert all(field.description for field in model.model_fields.values())
    connector = spec.factory(model(seed=4, latency_s=0.5), secrets={})
    assert isinstance(connector, MockConnector)
    assert connector.seed == 4 and connector.faults.latency_s == 0.5
