"""The connector contract, checked the same way on every installed connector.

Each test receives a connected connector (``contract_env``) from one factory module in
``tests/contract/factories``; broker-side facts (how many orders the broker's own book
holds, the broker's clock) come from the environment, never from the connector.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from pathlib import Path

import pytest

from moonlight.core.connectors.contract import (
    BrokerOrderStatus,
    Connector,
    OrderAck,
    OrderRequest,
    Rejected,
    Settlement,
)
from moonlight.core.orders import Direction, OrderState, Outcome
from tests.contract.env import ContractEnv

_ids = itertools.count(1)


def _request(
    env: ContractEnv, *, stake: float | None = None, cid: str | None = None
) -> OrderRequest:
    return OrderRequest(
        client_req_id=cid or f"contract-{env.name}-{time.time_ns()}-{next(_ids)}",
        account_id=env.account_id,
        instrument=env.instrument,
        direction=Direction.UP,
        stake=env.stake if stake is None else stake,
        duration_s=env.duration_s,
        created_ts=time.time(),
    )


async def _settlement(
    env: ContractEnv, ack: OrderAck, pushed: asyncio.Queue[Settlement]
) -> tuple[Settlement, str]:
    """The order's settlement by push, else by polling ``order_status``; and how it came."""
    deadline = time.monotonic() + max(0.0, ack.expires_ts - time.time()) + env.settle_timeout_s
    while time.monotonic() < deadline:
        try:
            item = await asyncio.wait_for(pushed.get(), timeout=0.25)
        except TimeoutError:
            if time.time() >= ack.expires_ts + 1.0:
                status = await env.connector.order_status(env.account_id, ack.broker_order_id)
                if status is not None and status.settlement is not None:
                    return status.settlement, "poll"
            continue
        if item.broker_order_id == ack.broker_order_id:
            return item, "push"
    raise AssertionError(f"{env.name}: no settlement for {ack.broker_order_id}")


async def _eventually_balance(connector: Connector, account_id: str, expected: float) -> float:
    amount = math.nan
    for _ in range(50):
        amount = (await connector.balance(account_id)).amount
        if amount == pytest.approx(expected, abs=1e-6):
            return amount
        await asyncio.sleep(0.1)
    return amount


async def test_account_info_reports_what_the_broker_says(contract_env: ContractEnv) -> None:
    env = contract_env
    info = await env.connector.account_info(env.account_id)
    assert info.account_id == env.account_id
    assert info.kind is env.broker_account_kind
    balance = await env.connector.balance(env.account_id)
    assert info.currency == balance.currency
    assert info.balance == pytest.approx(balance.amount)
    assert env.connector.connection_epoch >= 1


async def test_instruments_have_payouts_and_limits(contract_env: ContractEnv) -> None:
    instruments = await contract_env.connector.instruments()
    assert instruments, "no instruments"
    for instrument in instruments:
        assert 0 < instrument.payout_pct <= 1000
        assert 0 < instrument.stake_min <= instrument.stake_max
        assert instrument.durations_s and all(d > 0 for d in instrument.durations_s)
    chosen = {i.symbol: i for i in instruments}[contract_env.instrument]
    assert chosen.is_open
    assert chosen.check(contract_env.stake, contract_env.duration_s) is None
    assert chosen.check(contract_env.rejected_stake, contract_env.duration_s) is not None


async def test_server_time_follows_the_broker_clock(contract_env: ContractEnv) -> None:
    server = await contract_env.connector.server_time()
    assert abs(server - contract_env.broker_now()) <= contract_env.clock_tolerance_s


async def test_candles_are_closed_ordered_and_aligned(contract_env: ContractEnv) -> None:
    connector, tf = contract_env.connector, contract_env.timeframe_s
    candles = await connector.candles(contract_env.instrument, tf, count=30)
    assert 0 < len(candles) <= 30
    now = await connector.server_time()
    starts = [c.start_ts for c in candles]
    assert starts == sorted(set(starts)), "not strictly increasing"
    for candle in candles:
        assert candle.instrument == contract_env.instrument and candle.timeframe_s == tf
        assert candle.start_ts % tf == 0, "not aligned to the timeframe"
        assert candle.end_ts <= now + contract_env.clock_tolerance_s, "a bar still forming"
        assert (
            candle.low
            <= min(candle.open, candle.close)
            <= max(candle.open, candle.close)
            <= candle.high
        )
    end_ts = candles[-1].start_ts - 5 * tf + 1
    earlier = await connector.candles(contract_env.instrument, tf, count=10, end_ts=end_ts)
    assert earlier and all(c.end_ts <= end_ts for c in earlier)
    assert [c.start_ts for c in earlier] == sorted(c.start_ts for c in earlier)


async def test_candles_batch_answers_each_series_as_candles_would(
    contract_env: ContractEnv,
) -> None:
    """The batch call at one instant: per series, what ``candles`` says for the same bars."""
    connector, tf = contract_env.connector, contract_env.timeframe_s
    latest = await connector.candles(contract_env.instrument, tf, count=1)
    end_ts = latest[-1].end_ts
    key = (contract_env.instrument, tf)
    batch = await connector.candles_batch([key, key], count=12, end_ts=end_ts)
    single = await connector.candles(contract_env.instrument, tf, count=12, end_ts=end_ts)
    assert list(batch) == [key], "one answer per distinct series"
    assert list(batch[key]) == list(single) and single
    assert await connector.candles_batch([], count=12, end_ts=end_ts) == {}


async def test_place_find_settle_and_balance(contract_env: ContractEnv) -> None:
    env, connector = contract_env, contract_env.connector
    before = (await connector.balance(env.account_id)).amount
    count_before = env.broker_order_count()
    pushed: asyncio.Queue[Settlement] = asyncio.Queue()

    async def listen() -> None:
        async for item in connector.subscribe_settlements(env.account_id):
            pushed.put_nowait(item)

    listener = asyncio.create_task(listen())
    try:
        request = _request(env)
        ack = await connector.place_order(request)
        assert ack.client_req_id == request.client_req_id
        assert ack.stake == pytest.approx(env.stake)
        assert ack.expires_ts == pytest.approx(ack.accepted_ts + env.duration_s, abs=1e-6)
        assert ack.payout_pct > 0
        assert env.broker_order_count() == count_before + 1

        found = await connector.find_order(request)
        assert found is not None and found.broker_order_id == ack.broker_order_id
        assert found.client_req_id == request.client_req_id
        if found.status is BrokerOrderStatus.OPEN:
            open_ids = {o.broker_order_id for o in await connector.open_orders(env.account_id)}
            assert ack.broker_order_id in open_ids

        settlement, _how = await _settlement(env, ack, pushed)
        assert settlement.outcome in (Outcome.WIN, Outcome.LOSE, Outcome.PUSH)
        expected_pnl = {
            Outcome.WIN: env.stake * ack.payout_pct / 100.0,
            Outcome.LOSE: -env.stake,
            Outcome.PUSH: 0.0,
        }[settlement.outcome]
        assert settlement.pnl == pytest.approx(expected_pnl, abs=0.01)
        status = await connector.order_status(env.account_id, ack.broker_order_id)
        assert status is not None and status.status is BrokerOrderStatus.SETTLED
        assert status.settlement is not None and status.settlement.outcome == settlement.outcome
        assert ack.broker_order_id not in {
            o.broker_order_id for o in await connector.open_orders(env.account_id)
        }
        after = await _eventually_balance(connector, env.account_id, before + settlement.pnl)
        assert after == pytest.approx(before + settlement.pnl, abs=1e-6)
        assert env.broker_order_count() == count_before + 1
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def test_rejected_stake_raises_rejected_and_opens_nothing(contract_env: ContractEnv) -> None:
    env = contract_env
    count_before = env.broker_order_count()
    request = _request(env, stake=env.rejected_stake)
    with pytest.raises(Rejected):
        await env.connector.place_order(request)
    assert env.broker_order_count() == count_before
    assert await env.connector.find_order(request) is None


async def test_find_order_of_an_order_never_sent_is_none(contract_env: ContractEnv) -> None:
    assert await contract_env.connector.find_order(_request(contract_env)) is None


async def test_repeated_client_req_id_is_never_a_second_broker_order(
    contract_env: ContractEnv, tmp_path: Path
) -> None:
    """Through the executor (unique client_req_id in storage) for every connector, and at
    the connector itself for those that deduplicate."""
    from moonlight.core.execution.executor import Executor
    from moonlight.core.execution.journal import OrderJournal
    from moonlight.core.runtime.clock import WallClock
    from moonlight.core.storage.repository import DuplicateOrderError
    from tests.execution.support import fast_config, intent, migrated_sqlite

    env = contract_env
    engine = migrated_sqlite(tmp_path / "contract.db")
    journal = OrderJournal(engine)
    executor = Executor(
        connector=env.connector,
        journal=journal,
        clock=WallClock(),
        config=fast_config(settle_grace_s=env.settle_timeout_s),
    )
    try:
        await executor.start([env.account_id])
        count_before = env.broker_order_count()
        decision = intent(
            f"dup-{env.name}-{time.time_ns()}",
            account_id=env.account_id,
            instrument=env.instrument,
            stake=env.stake,
            duration_s=env.duration_s,
        )
        report = await executor.execute(decision)
        assert report.state is OrderState.SETTLED
        with pytest.raises(DuplicateOrderError):
            await executor.execute(decision)
        assert env.broker_order_count() == count_before + 1
        if env.dedupes_client_req_id:
            again = OrderRequest(
                client_req_id=decision.client_req_id,
                account_id=env.account_id,
                instrument=env.instrument,
                direction=decision.direction,
                stake=env.stake,
                duration_s=env.duration_s,
                created_ts=time.time(),
            )
            try:
                repeated = await env.connector.place_order(again)
            except Rejected:
                pass
            else:
                assert repeated.broker_order_id == report.broker_order_id
            assert env.broker_order_count() == count_before + 1
    finally:
        await executor.stop()
        journal.close()
        engine.dispose()
