"""The message parser and decoders: documented shapes decode exactly; random and mutated
frames (hypothesis) never raise anything but ProtocolError, and no consumer of a parsed
message -- feeds, contract watchers, the late-reply handler -- ever raises."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from moonlight.connectors.deriv import codec
from moonlight.connectors.deriv.config import DerivConfig
from moonlight.connectors.deriv.connector import DerivConnector
from moonlight.connectors.deriv.feeds import CandleFeed, TickFeed
from moonlight.connectors.deriv.link import LinkState
from moonlight.connectors.deriv.protocol import Message, ProtocolError, number, parse_frame
from moonlight.core.orders import Direction, Outcome
from tests.connectors.deriv.conftest import MakeConnector
from tests.connectors.deriv.fake_server import FakeDerivServer

NOW = 1_700_000_100.0

POC_FINAL = {
    "buy_price": 10,
    "contract_id": 250000001,
    "contract_type": "CALL",
    "date_expiry": 1700000075,
    "date_start": 1700000060,
    "entry_tick": 1000.5,
    "exit_tick": 1000.5,
    "is_sold": 1,
    "payout": "19.50",
    "profit": "-10.00",
    "sell_price": 0,
    "sell_time": 1700000075,
    "status": "lost",
    "underlying": "R_100",
}

CORPUS: list[dict[str, Any]] = [
    {"msg_type": "ping", "ping": "pong", "req_id": 1, "echo_req": {"ping": 1, "req_id": 1}},
    {"msg_type": "time", "time": 1700000000, "req_id": 2},
    {
        "msg_type": "authorize",
        "authorize": {"loginid": "VRTC1", "is_virtual": 1, "currency": "USD"},
        "req_id": 3,
    },
    {
        "msg_type": "candles",
        "candles": [{"epoch": 1700000040, "open": 1, "high": 2, "low": 0.5, "close": 1.5}],
        "subscription": {"id": "s-1"},
        "req_id": 4,
    },
    {
        "msg_type": "ohlc",
        "ohlc": {
            "open_time": 1700000100,
            "open": "1.1",
            "high": "1.3",
            "low": "1.0",
            "close": "1.2",
            "epoch": 1700000101,
            "granularity": 60,
        },
        "subscription": {"id": "s-1"},
        "req_id": 4,
    },
    {
        "msg_type": "history",
        "history": {"prices": [1.0, 1.1], "times": [1700000000, 1700000001]},
        "req_id": 5,
    },
    {"msg_type": "tick", "tick": {"epoch": 1700000002, "quote": 1.2}, "req_id": 5},
    {
        "msg_type": "proposal",
        "proposal": {
            "id": "a" * 32,
            "ask_price": 10,
            "payout": "19.5",
            "spot": 1000.1,
            "validation_params": {"stake": {"min": "0.35", "max": "3000.00"}},
        },
        "req_id": 6,
    },
    {
        "msg_type": "buy",
        "buy": {
            "contract_id": 250000001,
            "buy_price": 10,
            "payout": 19.5,
            "start_time": 1700000060,
            "shortcode": "CALL_R_100_19.5_1700000060_1700000075_S0P_0",
        },
        "echo_req": {"passthrough": {"client_req_id": "o-1"}},
        "req_id": 7,
    },
    {"msg_type": "proposal_open_contract", "proposal_open_contract": POC_FINAL, "req_id": 8},
    {
        "msg_type": "portfolio",
        "portfolio": {
            "contracts": [
                {
                    "contract_id": 250000002,
                    "contract_type": "PUTE",
                    "symbol": "R_50",
                    "buy_price": 5,
                    "payout": 9.5,
                    "date_start": 1700000000,
                    "expiry_time": 1700000060,
                }
            ]
        },
        "req_id": 9,
    },
    {
        "msg_type": "profit_table",
        "profit_table": {
            "transactions": [
                {
                    "contract_id": 250000003,
                    "buy_price": 10,
                    "sell_price": 19.5,
                    "payout": 19.5,
                    "purchase_time": 1700000000,
                    "sell_time": 1700000015,
                    "shortcode": "CALL_R_100_19.5_1700000000_1700000015_S0P_0",
                }
            ]
        },
        "req_id": 10,
    },
    {
        "msg_type": "buy",
        "error": {"code": "RateLimit", "message": "You have reached the rate limit for buy."},
        "req_id": 11,
    },
]

# -- documented shapes -------------------------------------------------------------------


def test_documented_frames_parse_with_their_correlation_fields() -> None:
    buy = parse_frame(json.dumps(CORPUS[8]))
    assert (buy.msg_type, buy.req_id, buy.passthrough) == ("buy", 7, {"client_req_id": "o-1"})
    error = parse_frame(json.dumps(CORPUS[-1]))
    assert error.is_error and error.error_code == "RateLimit"
    stream = parse_frame(json.dumps(CORPUS[3]))
    assert stream.subscription_id == "s-1"
    assert parse_frame(b'{"error": {"code": "X"}}').msg_type == "error"


def test_numbers_arrive_as_numbers_or_strings() -> None:
    assert number("19.50", "x") == 19.5 and number(3, "x") == 3.0
    bad: object
    for bad in (True, None, "nan", "inf", "abc", [], 10**400):
        with pytest.raises(ProtocolError):
            number(bad, "x")


def test_a_final_call_tie_is_lost_and_every_status_maps() -> None:
    view = codec.open_contract(POC_FINAL)
    assert view is not None and view.direction is Direction.UP
    settlement = view.settlement("o-1", "acc-1")
    assert settlement is not None
    assert (settlement.outcome, settlement.pnl) == (Outcome.LOSE, -10.0)
    assert settlement.entry_price == settlement.exit_price == 1000.5
    won = codec.open_contract({**POC_FINAL, "status": "won", "sell_price": "19.5"})
    assert won is not None and won.outcome() == (Outcome.WIN, 9.5)
    assert won.payout_pct == pytest.approx(95.0)
    sold = codec.open_contract({**POC_FINAL, "status": "sold", "sell_price": 12.0})
    assert sold is not None and sold.outcome() == (Outcome.WIN, 2.0)
    cancelled = codec.open_contract({**POC_FINAL, "status": "cancelled", "sell_price": 10})
    assert cancelled is not None and cancelled.outcome() == (Outcome.ABORT, 0.0)
    running = codec.open_contract({**POC_FINAL, "status": "open", "is_sold": 0})
    assert running is not None and running.outcome() is None
    assert codec.open_contract({}) is None
    assert codec.open_contract({**POC_FINAL, "contract_type": "DIGITMATCH"}) is None


def test_profit_table_rows_and_shortcodes() -> None:
    row = CORPUS[11]["profit_table"]["transactions"][0]
    view = codec.profit_row(row)
    assert view is not None and (view.status, view.duration_s, view.symbol) == ("won", 15, "R_100")
    assert codec.profit_row({**row, "sell_price": 0})
    assert codec.profit_row({**row, "sell_price": 0}).status == "lost"  # type: ignore[union-attr]
    assert codec.profit_row({**row, "sell_price": 4.2}).status == "sold"  # type: ignore[union-attr]
    code = codec.parse_shortcode("PUTE_frxEURUSD_18.2_1700000000_1700000060F_S0P_0")
    assert code == codec.Shortcode("PUTE", "frxEURUSD", 18.2, 1700000000, 1700000060)
    assert codec.parse_shortcode("CALL_R_100_19.5_1700000000_5T_S0P_0").expiry_ts is None  # type: ignore[union-attr]
    assert codec.parse_shortcode("MULTUP_R_100_10_1700000000_S0P_0") is None
    assert codec.duration_s("15s") == 15 and codec.duration_s("1d") == 86_400
    assert codec.duration_s("5t") is None


# -- fuzzing --------------------------------------------------------------------------

_keys = st.sampled_from(
    [
        "msg_type",
        "req_id",
        "error",
        "code",
        "message",
        "subscription",
        "id",
        "echo_req",
        "passthrough",
        "client_req_id",
        "candles",
        "ohlc",
        "tick",
        "history",
        "prices",
        "times",
        "epoch",
        "open_time",
        "open",
        "close",
        "quote",
        "proposal_open_contract",
        "contract_id",
        "contract_type",
        "status",
        "buy",
        "buy_price",
        "payout",
        "sell_price",
        "date_start",
        "date_expiry",
        "shortcode",
        "portfolio",
        "contracts",
        "profit_table",
        "transactions",
    ]
)
_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["CALL", "PUTE", "won", "lost", "sold", "open", "candles", "ohlc", "1e400"])
)
_json = st.recursive(
    _leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=6),
    max_leaves=25,
)
_frames = st.dictionaries(_keys, _json, max_size=8)


def _connector() -> DerivConnector:
    config = DerivConfig(
        ws_url="ws://127.0.0.1:1/websockets/v3", app_id=1, allowed_hosts=["127.0.0.1"]
    )
    return DerivConnector(config, token="t")


def _consume(message: Message, connector: DerivConnector) -> None:
    """Hand one parsed message to every consumer; only ProtocolError may escape decoders."""
    for feed in (CandleFeed("R_100", 60, lambda: NOW), TickFeed("R_100", lambda: NOW)):
        feed.on_message(message)
        feed.on_message(message)
    connector._on_contract("250000001", message)
    connector._on_orphan(message)
    decoders = (
        lambda: codec.proposal(message.result_object()),
        lambda: codec.purchase(message.result_object()),
        lambda: codec.authorization(message.result_object()),
        lambda: codec.open_contract(message.result_object("proposal_open_contract")),
        lambda: codec.active_symbols(message.result()),
        lambda: codec.rise_fall_durations(message.result()),
        lambda: codec.candles(message.result("candles"), "R_100", 60),
        lambda: codec.history_ticks(message.result("history"), "R_100"),
        lambda: codec.contract_list(
            message.result_object("portfolio").get("contracts"), "p", codec.portfolio_contract
        ),
        lambda: codec.contract_list(
            message.result_object("profit_table").get("transactions"), "p", codec.profit_row
        ),
    )
    for decode in decoders:
        with contextlib.suppress(ProtocolError):
            decode()


def _parse_and_consume(raw: str | bytes, connector: DerivConnector) -> None:
    try:
        message = parse_frame(raw)
    except ProtocolError:
        return
    _consume(message, connector)


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_random_text_and_bytes_never_escape_the_parser(raw: str | bytes) -> None:
    _parse_and_consume(raw, _connector())


@FUZZ
@given(_frames)
def test_random_json_objects_never_break_a_consumer(frame: dict[str, Any]) -> None:
    _parse_and_consume(json.dumps(frame), _connector())


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@FUZZ
@given(
    st.sampled_from(CORPUS),
    st.data(),
    st.sampled_from(["replace", "delete", "truncate", "splice"]),
)
def test_mutated_valid_frames_never_break_a_consumer(
    frame: dict[str, Any], data: st.DataObject, how: str
) -> None:
    mutated = copy.deepcopy(frame)
    text = json.dumps(mutated)
    if how in ("replace", "delete"):
        path = data.draw(st.sampled_from(_paths(mutated)))
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        if how == "replace":
            parent[path[-1]] = data.draw(_json)
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
        text = json.dumps(mutated)
    elif how == "truncate":
        text = text[: data.draw(st.integers(0, len(text)))]
    else:
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.text(max_size=8)) + text[at:]
    _parse_and_consume(text, _connector())


async def test_garbage_on_the_socket_leaves_the_connector_working(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    """Seeded random and mutated frames sent by the server itself: all skipped or
    handled, and the connection keeps serving calls."""
    rng = random.Random(2024)
    frames: list[str | bytes] = []
    for _ in range(150):
        base = json.dumps(rng.choice(CORPUS))
        cut = rng.randrange(len(base))
        frames.append(base[:cut] + rng.choice(["", "}", "]", '"', "\\u0000", "ÿ"]) + base[cut:])
    frames += [bytes(rng.randrange(256) for _ in range(40)) for _ in range(50)]
    connector = make_connector()
    await connector.connect()
    for frame in frames:
        server.inject(frame)
    await asyncio.sleep(0.5)
    stats = connector.session_stats
    assert stats.handler_errors == 0
    assert stats.bad_frames + stats.orphans >= len(frames) - 5
    assert connector.state is LinkState.READY
    assert (await connector.balance("acc-1")).amount == 10_000.0
