"""PaperBroker: the documented settlement rule, money, its persisted book across a
restart, the three price feeds, and its plugin registration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from moonlight.core.connectors.contract import (
    Balance,
    BrokerAccount,
    BrokerOrder,
    Candle,
    Connector,
    Instrument,
    OrderAck,
    OrderRequest,
    Rejected,
    Settlement,
    Tick,
)
from moonlight.core.connectors.feeds import SeriesFeed, TickRecorder
from moonlight.core.connectors.mock import MockConnector
from moonlight.core.connectors.paper import PaperBroker
from moonlight.core.connectors.paper_book import MemoryPaperBook, SqlPaperBook
from moonlight.core.connectors.settlement import settle_contract
from moonlight.core.orders import Direction, Outcome
from moonlight.core.plugins import ComponentKind, build_plugin_host
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.storage.engine import session_factory
from tests.execution.support import migrated_sqlite

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


async def _paper(clock: FastForwardClock, **kwargs: object) -> PaperBroker:
    source = MockConnector(seed=21, clock=clock, history_s=600.0)
    book = kwargs.pop("book", None) or MemoryPaperBook(starting_balance=1_000.0)
    paper = PaperBroker(source=source, book=book, clock=clock, **kwargs)  # type: ignore[arg-type]
    await paper.connect()
    return paper


async def test_contracts_settle_by_the_documented_rule() -> None:
    clock = FastForwardClock(T0)
    paper = await _paper(clock)
    try:
        pushes = paper.subscribe_settlements("acc")
        acks = [
            await paper.place_order(_request(f"o{i}", direction=d, duration_s=15))
            for i, d in enumerate([Direction.UP, Direction.DOWN, Direction.UP])
        ]
        assert (await paper.balance("acc")).amount == 1_000.0 - 30.0  # debited at acceptance
        settled = {s.client_req_id: s for s in [await anext(pushes) for _ in acks]}  # type: ignore[call-overload]
        market = paper.source.market  # type: ignore[attr-defined]
        credit = 0.0
        for ack in acks:
            assert ack.expires_ts == ack.accepted_ts + 15  # expiry = acceptance + duration
            s = settled[ack.client_req_id]
            tick_ts, entry = market.first_price_after("EURUSD", ack.accepted_ts)
            assert tick_ts > ack.accepted_ts and s.entry_price == entry  # first price after
            assert s.exit_price == market.price_at("EURUSD", ack.expires_ts)
            order = await paper.order_status("acc", ack.broker_order_id)
            assert order is not None
            expected = settle_contract(order.direction, 10.0, 82.0, entry, s.exit_price)
            assert (s.outcome, s.pnl) == (expected.outcome, expected.pnl)
            credit += expected.credit
        assert (await paper.balance("acc")).amount == pytest.approx(970.0 + credit)
    finally:
        await paper.close()


async def test_exit_is_the_prevailing_price_and_a_contract_without_prices_is_refunded() -> None:
    clock = FastForwardClock(T0)
    feed = SeriesFeed({"EURUSD": ([T0 + 1, T0 + 30, T0 + 61], [1.1, 1.2, 1.1])}, clock)
    paper = await _paper(clock, feed=feed)
    try:
        ack = await paper.place_order(_request("flat", duration_s=60))
        await clock.sleep_until(T0 + 62)
        order = await paper.order_status("acc", ack.broker_order_id)
        assert order is not None and order.settlement is not None
        assert order.settlement.entry_price == 1.1  # first price after acceptance (T0 + 1)
        assert order.settlement.exit_price == 1.2  # prevailing at expiry (T0 + 30)
        assert order.settlement.outcome is Outcome.WIN

        ack = await paper.place_order(_request("push", duration_s=15))  # at T0 + 62
        await clock.sleep_until(T0 + 62 + 15 + 11)  # no price within 15 s: grace passes
        order = await paper.order_status("acc", ack.broker_order_id)
        assert order is not None and order.settlement is not None
        assert order.settlement.outcome is Outcome.ABORT  # no price after acceptance
        assert (await paper.balance("acc")).amount == pytest.approx(1_000 + 8.2)
    finally:
        await paper.close()


async def test_push_outcome_when_exit_equals_entry() -> None:
    clock = FastForwardClock(T0)
    feed = SeriesFeed({"EURUSD": ([T0 + 1, T0 + 20, T0 + 70], [1.1, 1.1, 1.3])}, clock)
    paper = await _paper(clock, feed=feed)
    try:
        ack = await paper.place_order(_request("p", direction=Direction.DOWN, duration_s=60))
        await clock.sleep_until(T0 + 61)
        order = await paper.order_status("acc", ack.broker_order_id)
        assert order is not None and order.settlement is not None
        assert order.settlement.outcome is Outcome.PUSH and order.settlement.pnl == 0.0
        assert (await paper.balance("acc")).amount == 1_000.0  # stake returned
    finally:
        await paper.close()


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"stake": 5_000.0}, "outside"),
        ({"duration_s": 7}, "not offered"),
        ({"instrument": "NOPE"}, "unknown instrument"),
        ({"min_payout_pct": 85.0}, "below requested"),
        ({"stake": 999.0, "account_id": "small"}, "insufficient funds"),
    ],
)
async def test_rejections(overrides: dict[str, object], reason: str) -> None:
    clock = FastForwardClock(T0)
    paper = await _paper(clock, book=MemoryPaperBook(starting_balance=500.0))
    try:
        with pytest.raises(Rejected, match=reason):
            await paper.place_order(_request("r", **overrides))
        assert await paper.find_order(_request("r")) is None
    finally:
        await paper.close()


async def test_a_client_req_id_is_accepted_once() -> None:
    clock = FastForwardClock(T0)
    paper = await _paper(clock)
    try:
        await paper.place_order(_request("once"))
        with pytest.raises(Rejected, match="duplicate"):
            await paper.place_order(_request("once"))
        assert (await paper.balance("acc")).amount == 990.0
    finally:
        await paper.close()


async def test_balances_and_open_contracts_survive_a_restart(tmp_path: Path) -> None:
    engine = migrated_sqlite(tmp_path / "paper.db")
    sessions = session_factory(engine)
    clock = FastForwardClock(T0)
    try:
        first = await _paper(clock, book=SqlPaperBook(sessions, starting_balance=1_000.0))
        quick = await first.place_order(_request("quick", duration_s=5))
        slow = await first.place_order(_request("slow", duration_s=300))
        await clock.sleep_until(T0 + 10)
        settled_quick = await first.order_status("acc", quick.broker_order_id)
        assert settled_quick is not None and settled_quick.settlement is not None
        balance_before = (await first.balance("acc")).amount
        await first.close()  # "the process stops"; the slow contract is still open

        second = await _paper(clock, book=SqlPaperBook(sessions, starting_balance=1_000.0))
        assert (await second.balance("acc")).amount == pytest.approx(balance_before)
        open_orders = await second.open_orders("acc")
        assert [o.client_req_id for o in open_orders] == ["slow"]
        pushes = second.subscribe_settlements("acc")
        await clock.sleep_until(T0 + 301)
        settlement = await anext(pushes)  # type: ignore[call-overload]
        assert settlement.client_req_id == "slow"
        market = second.source.market  # type: ignore[attr-defined]
        _, entry = market.first_price_after("EURUSD", slow.accepted_ts)
        assert settlement.entry_price == entry
        credit = settle_contract(
            Direction.UP, 10.0, 82.0, entry, settlement.exit_price or entry
        ).credit
        assert (await second.balance("acc")).amount == pytest.approx(balance_before + credit)
        found = await second.find_order(_request("quick"))
        assert found is not None and found.settlement == settled_quick.settlement
        await second.close()
    finally:
        engine.dispose()


class _TickOnly(Connector):
    """A source that only streams ticks (like a live broker): no random-access market."""

    name = "ticks"

    def __init__(self, inner: MockConnector) -> None:
        self.inner = inner

    async def connect(self) -> None:
        await self.inner.connect()

    async def close(self) -> None:
        await self.inner.close()

    async def server_time(self) -> float:
        return await self.inner.server_time()

    async def instruments(self) -> Sequence[Instrument]:
        return await self.inner.instruments()

    async def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float | None = None
    ) -> Sequence[Candle]:
        return await self.inner.candles(instrument, timeframe_s, count=count, end_ts=end_ts)

    def subscribe_candles(self, instrument: str, timeframe_s: int) -> AsyncIterator[Candle]:
        return self.inner.subscribe_candles(instrument, timeframe_s)

    def subscribe_ticks(self, instrument: str) -> AsyncIterator[Tick]:
        return self.inner.subscribe_ticks(instrument)

    async def place_order(self, request: OrderRequest) -> OrderAck:
        raise AssertionError("the paper broker never sends orders to its source")

    async def order_status(self, account_id: str, broker_order_id: str) -> BrokerOrder | None:
        raise AssertionError("not used")

    async def find_order(self, request: OrderRequest) -> BrokerOrder | None:
        raise AssertionError("not used")

    async def open_orders(self, account_id: str) -> Sequence[BrokerOrder]:
        raise AssertionError("not used")

    def subscribe_settlements(self, account_id: str) -> AsyncIterator[Settlement]:
        raise AssertionError("not used")

    async def balance(self, account_id: str) -> Balance:
        raise AssertionError("not used")

    async def account_info(self, account_id: str) -> BrokerAccount:
        raise AssertionError("not used")

    @property
    def connection_epoch(self) -> int:
        return self.inner.connection_epoch


async def test_live_ticks_of_another_connector_settle_contracts() -> None:
    clock = FastForwardClock(T0)
    inner = MockConnector(seed=22, clock=clock, history_s=60.0)
    paper = PaperBroker(
        source=_TickOnly(inner), book=MemoryPaperBook(), clock=clock, poll_interval_s=0.5
    )
    await paper.connect()
    try:
        assert isinstance(paper.feed, TickRecorder)
        ack = await paper.place_order(_request("t", duration_s=15))
        await clock.sleep_until(T0 + 20)
        order = await paper.order_status("acc", ack.broker_order_id)
        assert order is not None and order.settlement is not None
        market = inner.market
        assert market is not None
        _, entry = market.first_price_after("EURUSD", ack.accepted_ts)
        assert order.settlement.entry_price == entry
        assert order.settlement.exit_price == market.price_at("EURUSD", ack.expires_ts)
    finally:
        await paper.close()


def test_paper_is_registered_as_a_builtin_connector(tmp_path: Path) -> None:
    host = build_plugin_host(environ={"MOONLIGHT_DISABLE_PLUGINS": "*"})
    spec = host.registry.get(ComponentKind.CONNECTOR, "paper")
    model = spec.config_model
    assert model.model_config.get("frozen") and model.model_config.get("extra") == "forbid"
    assert all(field.description for field in model.model_fields.values())
    engine = migrated_sqlite(tmp_path / "plugin.db")
    try:
        paper = spec.factory(
            model(starting_balance=50.0), secrets={}, sessions=session_factory(engine)
        )
        assert isinstance(paper, PaperBroker)
        assert isinstance(paper.book, SqlPaperBook)
        assert paper.book.balance("new") == (50.0, "USD")
    finally:
        engine.dispose()
