"""The view model: orders open first, live messages, the P&L series, staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from moonlight.console.models import OPEN_STATES, LiveMessage, Order, Result
from moonlight.console.state import ConsoleState, Freshness, OrderFilter, order_rows

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
STATES = sorted({*OPEN_STATES, "SETTLED", "FAILED"})


def order(n: int, state: str, *, account: str = "paper-1", instrument: str = "EURUSD") -> Order:
    return Order(
        client_req_id=f"{account}:{instrument}:{n}",
        account_id=account,
        instrument=instrument,
        state=state,
        created_at=T0 + timedelta(seconds=n),
    )


orders_strategy = st.lists(
    st.tuples(st.integers(0, 10_000), st.sampled_from(STATES)), unique_by=lambda t: t[0]
).map(lambda rows: [order(n, s) for n, s in rows])


@given(orders_strategy)
def test_open_orders_come_first_then_newest(orders: list[Order]) -> None:
    rows = order_rows(orders, OrderFilter())
    assert sorted(o.client_req_id for o in rows) == sorted(o.client_req_id for o in orders)
    flags = [o.is_open for o in rows]
    assert flags == sorted(flags, reverse=True)  # no open order after a closed one
    for group in (True, False):
        times = [o.created_at for o in rows if o.is_open is group]
        assert times == sorted(times, reverse=True)


@given(orders_strategy, st.sampled_from(["all", "open", "settled", "failed"]))
def test_filter_groups(orders: list[Order], group: str) -> None:
    rows = order_rows(orders, OrderFilter(group=group))
    expected = {
        "all": lambda o: True,
        "open": lambda o: o.is_open,
        "settled": lambda o: o.state == "SETTLED",
        "failed": lambda o: o.state == "FAILED",
    }[group]
    assert {o.client_req_id for o in rows} == {o.client_req_id for o in orders if expected(o)}


def test_text_filter_matches_account_instrument_or_id() -> None:
    orders = [order(1, "CONFIRM"), order(2, "SETTLED", account="demo-2", instrument="BTCUSD")]
    assert [o.account_id for o in order_rows(orders, OrderFilter(text="btc"))] == ["demo-2"]
    assert len(order_rows(orders, OrderFilter(text=" PAPER "))) == 1
    assert order_rows(orders, OrderFilter(text="nothing")) == []


def message(kind: str, **data: object) -> LiveMessage:
    return LiveMessage(type=kind, seq=1, data=data)


def test_live_messages_move_orders_and_ask_for_what_storage_knows() -> None:
    state = ConsoleState()
    state.set_orders([order(1, "SETTLED")])
    new = "paper-1:GBPUSD:9"
    assert state.apply(message("decision", client_req_id=new, account_id="paper-1",
                               instrument="GBPUSD", from_state="IDLE", to_state="PREPARE"),
                       now=1.0) == {"orders"}  # fmt: skip
    assert state.orders[new].state == "PREPARE" and state.orders[new].created_at is None
    assert order_rows(state.orders.values(), OrderFilter())[0].client_req_id == new
    assert state.apply(message("order_state", client_req_id=new, to_state="CONFIRM"), 2.0) == set()
    dirty = state.apply(message("result", client_req_id=new, outcome="win", pnl=4.25), 3.0)
    assert dirty == {"results", "orders", "status"}
    assert (state.orders[new].state, state.orders[new].outcome, state.orders[new].pnl) == (
        "SETTLED", "win", 4.25
    )  # fmt: skip
    assert state.results == []  # money comes from GET /results only
    assert state.last_live_message == 3.0


def test_alarm_and_metrics_messages() -> None:
    state = ConsoleState()
    state.apply(message("alarm", level="critical", code="kill_switch", message="engaged",
                        scope="global", at=T0.isoformat()), 1.0)  # fmt: skip
    assert state.alarms[0].code == "kill_switch" and state.alarms[0].ts == T0
    state.apply(message("alarm", level="critical"), 1.0)  # malformed: ignored
    assert len(state.alarms) == 1
    state.apply(message("hello", metrics={"accounts": {"paper-1": {"pnl_day": -3.5}}}), 2.0)
    state.apply(message("metrics", accounts={"demo": {"pnl_day": 1}, "bad": {"pnl_day": "x"}}), 3.0)
    assert state.pnl_day == {"paper-1": -3.5, "demo": 1.0}


@given(st.lists(st.tuples(st.integers(0, 5000), st.floats(-50, 50)), unique_by=lambda t: t[0]))
def test_pnl_series_is_the_running_sum_in_settlement_order(rows: list[tuple[int, float]]) -> None:
    state = ConsoleState()
    results = [
        Result(client_req_id=f"o{n}", account_id="a", instrument="X", outcome="win", pnl=pnl,
               settled_at=T0 + timedelta(seconds=n))
        for n, pnl in rows
    ]  # fmt: skip
    state.set_results(reversed(results))  # the API answers newest first
    state.set_results(results[: len(results) // 2])  # a second page repeats rows
    series = state.pnl_series()
    assert len(series) == len(rows)
    expected = 0.0
    for (t, value), (n, pnl) in zip(series, sorted(rows), strict=True):
        expected += pnl
        assert t == (T0 + timedelta(seconds=n)).timestamp()
        assert abs(value - expected) < 1e-9


def test_freshness() -> None:
    fresh = Freshness(stale_after_s=8)
    assert fresh.stale(0.0) and fresh.age(0.0) is None
    fresh.ok(10.0)
    assert not fresh.stale(17.9) and fresh.stale(18.1)
    fresh.failed("cannot reach")
    assert fresh.last_error == "cannot reach"
    fresh.ok(20.0)
    assert fresh.last_error is None
