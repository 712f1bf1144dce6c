"""The message parser and every push handler, fed random and mutated frames.

Nothing here may raise: a malformed frame is logged and dropped, a malformed item is
skipped, and the handlers behind the parser (ticks, deals, balances, payouts...) never
fail on what a broken or hostile server could send. ``handler_errors`` counts handler
exceptions the session had to swallow; it must stay zero.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from moonlight.connectors.olymp import OlympConnector
from moonlight.connectors.olymp.bars import BarBuilder
from moonlight.connectors.olymp.payloads import BalanceData, DealData
from moonlight.connectors.olymp.protocol import Event, Message, parse_frame
from moonlight.core.connectors.contract import OrderRequest, Settlement
from moonlight.core.connectors.streams import Subscription
from moonlight.core.orders import Direction
from tests.connectors.olymp.support import olymp_config

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "up",
            "down",
            "win",
            "loose",
            "standoff",
            "proceed",
            "cancel",
            "demo",
            "real",
            "EURUSD",
            "9001",
            "1e400",
            "NaN",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.one_of(
                st.text(max_size=8),
                st.sampled_from(
                    [
                        "id",
                        "p",
                        "t",
                        "q",
                        "pair",
                        "amount",
                        "status",
                        "account_id",
                        "group",
                        "candles",
                        "time_open",
                        "duration",
                        "dir",
                        "winperc",
                        "profitability",
                        "min",
                        "max",
                    ]
                ),
            ),
            inner,
            max_size=6,
        ),
    ),
    max_leaves=25,
)
codes = st.one_of(st.sampled_from([int(e) for e in Event]), st.integers(-5, 5000))
messages = st.fixed_dictionaries(
    {"e": st.one_of(codes, scalars)},
    optional={
        "t": st.one_of(st.sampled_from([1, 2, 3]), scalars),
        "d": json_values,
        "uuid": st.one_of(st.text(max_size=12), scalars),
        "ts": scalars,
        "err": scalars,
    },
)

DEAL: dict[str, Any] = {
    "id": 550001,
    "account_id": 9001,
    "group": "demo",
    "pair": "EURUSD",
    "dir": "up",
    "amount": 10,
    "winperc": 82,
    "duration": 1,
    "time_open": 1795480000.5,
    "curs_open": 1.085,
    "status": "proceed",
}
CLOSED = {
    **DEAL,
    "status": "win",
    "time_close": 1795480001.5,
    "curs_close": 1.086,
    "balance_change": 8.2,
}
BAR = {"t": 1795479960, "open": 1.1, "high": 1.2, "low": 1.0, "close": 1.15}
BALANCE = {"account_id": 9001, "group": "demo", "amount": 10000, "currency": "USD"}
PAYOUT = {
    "pair": "EURUSD",
    "profitability": 82,
    "locked": False,
    "min_duration": 1,
    "max_duration": 3600,
    "precision": 5,
}
#: Frames shaped as the fake server (and the brief's log) sends them: the mutation corpus.
CORPUS: list[list[dict[str, Any]]] = [
    [{"e": 1, "t": 1, "d": [{"p": "EURUSD", "t": 1795480000.25, "q": 1.08512}]}],
    [{"e": 10, "t": 3, "uuid": "U1", "d": [{"p": "EURUSD", "candles": [BAR]}]}],
    [{"e": 98, "t": 3, "uuid": "U2", "d": [55, 22, 26]}, {"e": 55, "t": 1, "d": [BALANCE]}],
    [{"e": 75, "t": 1, "d": {"USD": {"min": 1, "max": 3000, "default": 1}}}],
    [{"e": 182, "t": 3, "uuid": "U3", "d": [PAYOUT]}],
    [{"e": 23, "t": 3, "uuid": "U4", "d": [DEAL]}],
    [{"e": 26, "t": 1, "d": [CLOSED]}],
    [
        {"e": 31, "t": 3, "uuid": "U5", "d": []},
        {"e": 110, "d": [{"id": 1, "email_confirmed": True}]},
        {"e": 90, "t": 3, "uuid": "U6", "d": {}, "ts": 1795480000},
    ],
]


def _connector() -> OlympConnector:
    """A connector with state for every handler to touch (no socket needed)."""
    config = olymp_config_for_fuzz()
    connector = OlympConnector(config, access_token="fuzz")
    connector.accounts.update_balances([BalanceData("9001", "demo", 100.0, "USD")])
    connector._settlement_subs["acc-1"] = [Subscription()]
    connector.market._tick_subs["EURUSD"] = [Subscription()]
    builder = BarBuilder("EURUSD", 5)
    builder.begin()
    connector.market._builders[("EURUSD", 5)] = builder
    request = OrderRequest("fuzz-1", "acc-1", "EURUSD", Direction.UP, 10.0, 1, time.time())
    connector.book.learn(
        DealData(id="550001", account_id="9001"), broker_account="9001", request=request
    )
    return connector


def olymp_config_for_fuzz() -> Any:
    class _Server:
        ws_url = "ws://127.0.0.1:9/otp"
        http_url = "http://127.0.0.1:9"

    return olymp_config(_Server())  # type: ignore[arg-type]


CONNECTOR = _connector()


def _feed(raw: str | bytes) -> None:
    before = CONNECTOR.session.stats.handler_errors
    CONNECTOR.session._handle_frame(raw)
    assert CONNECTOR.session.stats.handler_errors == before, "a handler raised"


def _mutate(value: Any, data: st.DataObject, depth: int = 0) -> Any:
    """Replace, drop or retype one element somewhere inside ``value``."""
    if isinstance(value, dict) and value and depth < 6:
        key = data.draw(st.sampled_from(sorted(value, key=str)))
        action = data.draw(st.sampled_from(["replace", "drop", "recurse"]))
        if action == "drop":
            value.pop(key)
        elif action == "replace":
            value[key] = data.draw(json_values)
        else:
            value[key] = _mutate(value[key], data, depth + 1)
        return value
    if isinstance(value, list) and value and depth < 6:
        index = data.draw(st.integers(0, len(value) - 1))
        value[index] = _mutate(value[index], data, depth + 1)
        return value
    return data.draw(json_values)


@SETTINGS
@given(raw=st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_random_text_and_bytes_never_raise(raw: str | bytes) -> None:
    messages_, problems = parse_frame(raw)
    assert all(isinstance(m, Message) for m in messages_)
    assert isinstance(problems, list)
    _feed(raw)


@SETTINGS
@given(frame=st.lists(messages, max_size=6))
def test_random_message_objects_never_raise(frame: list[dict[str, Any]]) -> None:
    raw = json.dumps(frame, allow_nan=True)
    parsed, problems = parse_frame(raw)
    assert len(parsed) + len(problems) == len(frame)
    _feed(raw)


@SETTINGS
@given(data=st.data())
def test_mutated_real_frames_never_raise(data: st.DataObject) -> None:
    frame = copy.deepcopy(data.draw(st.sampled_from(CORPUS)))
    for _ in range(data.draw(st.integers(1, 4))):
        frame = _mutate(frame, data)
    raw = json.dumps(frame, allow_nan=True)
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(raw)))
        raw = raw[:cut] + data.draw(st.text(max_size=5)) + raw[cut:]
    _feed(raw)


def test_valid_frames_are_parsed_and_handled() -> None:
    connector = _connector()
    pushed = connector._settlement_subs["acc-1"][0]
    for frame in CORPUS:
        connector.session._handle_frame(json.dumps(frame))
    assert connector.session.stats.handler_errors == 0
    assert connector.session.stats.malformed_items == 0
    assert connector.accounts.limits["USD"].max == 3000
    assert connector.accounts.payouts["EURUSD"].payout_pct == 82
    tracked = connector.book.deals["550001"]
    assert tracked.settlement is not None and tracked.settlement.pnl == 8.2
    assert tracked.client_req_id == "fuzz-1"
    delivered: list[Settlement] = list(pushed._items)
    assert [s.broker_order_id for s in delivered] == ["550001"]


def test_malformed_items_are_counted_and_the_rest_kept() -> None:
    connector = _connector()
    frame = '[{"e": "x"}, 5, {"t": 1}, {"e": 75, "t": 1, "d": {"EUR": {"min": 2, "max": 9}}}]'
    connector.session._handle_frame(frame)
    assert connector.session.stats.malformed_items == 3
    assert connector.accounts.limits["EUR"].min == 2
    connector.session._handle_frame(b"\xff\xfe not json")
    assert connector.session.stats.malformed_items == 4
