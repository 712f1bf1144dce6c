"""Issue 13, Olymp stake limits: the broker's lower-case limit table is the one obeyed.

Against the strict fake broker (``usd: {min, max, default}`` as the 2025 log keys it):
the instruments carry the broker's own limits, a stake outside them is refused before
anything is sent with the sizing clamp's reason codes, and a cancel the broker sends
anyway keeps its reason as a code on the order, in an alarm and in the counter.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from moonlight.connectors.olymp import OlympConnector
from moonlight.core.connectors.contract import OrderRequest, Rejected
from moonlight.core.execution.executor import HOOK_ALARM, Executor
from moonlight.core.execution.journal import OrderJournal
from moonlight.core.orders import Direction, OrderState
from moonlight.core.risk.decision import ReasonCode
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.sizing.clamp import clamp_stake
from moonlight.core.runtime.clock import WallClock
from moonlight.core.storage.models import Order, Result
from tests.connectors.olymp.rig import wall_config
from tests.execution.support import intent, migrated_sqlite
from tests.support.olymp_fake import DEMO_ID, StrictOlympBroker
from tests.support.olymp_rig import strict_connector

LIMITS = {"usd": {"min": 5, "max": 200, "default": 5}, "inr": {"min": 400, "max": 9e5}}


@pytest.fixture
async def broker() -> AsyncIterator[StrictOlympBroker]:
    async with StrictOlympBroker(seed=13, limits=copy.deepcopy(LIMITS)) as fake:
        yield fake


@pytest.fixture
async def olymp(broker: StrictOlympBroker) -> AsyncIterator[OlympConnector]:
    connector = strict_connector(broker)
    await connector.connect()
    try:
        yield connector
    finally:
        await connector.close()


def order(cid: str, stake: float) -> OrderRequest:
    return OrderRequest(
        client_req_id=cid,
        account_id="acc-1",
        instrument="EURUSD",
        direction=Direction.UP,
        stake=stake,
        duration_s=1,
        created_ts=time.time(),
    )


async def test_instruments_carry_the_lower_case_limit_table(olymp: OlympConnector) -> None:
    instruments = {i.symbol: i for i in await olymp.instruments()}
    assert (instruments["EURUSD"].stake_min, instruments["EURUSD"].stake_max) == (5.0, 200.0)
    # what the risk layer's clamp does with them: refuse below, clamp above
    request = DecisionRequest(
        account_id="acc-1",
        instrument="EURUSD",
        direction=Direction.UP,
        p_hat=0.6,
        payout_pct=82.0,
        balance=10_000.0,
        account_max_stake=1_000.0,
        min_stake=instruments["EURUSD"].stake_min,
        max_stake=instruments["EURUSD"].stake_max,
        timeframe="1m",
    )
    assert clamp_stake(2.0, request) == (0.0, ReasonCode.STAKE_BELOW_BROKER_MIN)
    assert clamp_stake(500.0, request) == (200.0, None)


@pytest.mark.parametrize(
    ("stake", "code"), [(2.0, "stake_below_broker_min"), (250.0, "stake_above_broker_max")]
)
async def test_stake_outside_the_limits_is_refused_before_sending(
    olymp: OlympConnector, broker: StrictOlympBroker, stake: float, code: str
) -> None:
    with pytest.raises(Rejected) as refused:
        await olymp.place_order(order(f"out-{stake}", stake))
    assert refused.value.code == code
    assert broker.received(23) == [] and broker.book() == []


async def test_a_currency_the_table_does_not_list_fails_closed(broker: StrictOlympBroker) -> None:
    broker.limits = {"inr": {"min": 400, "max": 9e5, "default": 400}}
    connector = strict_connector(broker)
    await connector.connect()
    try:
        eurusd = {i.symbol: i for i in await connector.instruments()}["EURUSD"]
        assert math.isnan(eurusd.stake_min) and math.isnan(eurusd.stake_max)
        with pytest.raises(Rejected) as refused:
            await connector.place_order(order("unlisted", 10.0))
        assert refused.value.code == "stake_below_broker_min"
        assert broker.received(23) == []
    finally:
        await connector.close()


@pytest.mark.parametrize("field", ["reason", "cancel_reason", "error"])
async def test_a_broker_cancel_keeps_its_reason_as_a_code(
    olymp: OlympConnector, broker: StrictOlympBroker, field: str
) -> None:
    broker.faults.cancel_reason_field = field
    broker.limits["usd"]["min"] = 50  # tightened at the broker, not pushed again
    with pytest.raises(Rejected) as refused:
        await olymp.place_order(order("cancelled", 10.0))
    assert refused.value.code == "broker_amount_limit"
    assert "amount_limit" in refused.value.reason
    assert broker.cancelled and broker.book() == []


async def test_the_executor_alarms_and_counts_the_broker_reason(
    tmp_path: Path, olymp: OlympConnector, broker: StrictOlympBroker
) -> None:
    broker.accounts[DEMO_ID].amount = 7.0  # the broker will cancel: insufficient_funds
    engine = migrated_sqlite(tmp_path / "db.sqlite")
    journal = OrderJournal(engine)
    counted: list[str] = []
    alarms: list[str] = []  # the executor emits; the telemetry alarm center stores

    def notify(hook: str, *, event: Any) -> None:
        if hook == HOOK_ALARM:
            alarms.append(event.code)

    executor = Executor(
        connector=olymp,
        journal=journal,
        clock=WallClock(),
        config=wall_config(),
        notify=notify,
        on_rejected=counted.append,
    )
    try:
        await executor.start(["acc-1"])
        report = await executor.execute(intent("poor", account_id="acc-1", stake=10.0))
    finally:
        await executor.stop()
        journal.close()
    assert report.state is OrderState.FAILED
    assert "[broker_insufficient_funds]" in (report.reason or "")
    assert counted == ["broker_insufficient_funds"]
    with Session(engine) as session:
        stored = session.execute(select(Result.reason).join(Order)).scalar_one()
    engine.dispose()
    assert "[broker_insufficient_funds]" in (stored or "")
    assert "broker_insufficient_funds" in alarms
