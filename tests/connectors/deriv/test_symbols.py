"""Issue 13: symbol and shortcode comparisons go through one function, whatever the case.

Deriv writes ``frxGBPUSD`` in active_symbols/proposal/portfolio but ``FRXGBPUSD`` in a
contract's shortcode (all that profit_table gives). On main the lookup compared them
with ``==`` and never found a contract that settled during an outage.
"""

from __future__ import annotations

import asyncio

from hypothesis import given, strategies as st

from moonlight.connectors.deriv import codec
from moonlight.connectors.deriv.correlation import Correlation, IdenticalOrderPending
from moonlight.connectors.deriv.symbols import SymbolBook, same_symbol, symbol_key
from moonlight.core.connectors.contract import OrderRequest
from moonlight.core.orders import Direction

SYMBOLS = st.sampled_from(["frxGBPUSD", "frxEURUSD", "R_100", "1HZ100V", "cryBTCUSD", "OTC_NDX"])


def recase(symbol: str, flips: list[bool]) -> str:
    """``symbol`` with the case of some letters flipped."""
    return "".join(
        (c.swapcase() if flip else c)
        for c, flip in zip(symbol, flips + [False] * len(symbol), strict=False)
    )


@given(SYMBOLS, st.lists(st.booleans(), max_size=12), st.lists(st.booleans(), max_size=12))
def test_any_two_spellings_of_one_symbol_are_the_same(
    symbol: str, a: list[bool], b: list[bool]
) -> None:
    one, other = recase(symbol, a), recase(symbol, b)
    assert same_symbol(one, other)
    assert symbol_key(one) == symbol_key(other) == symbol.upper()
    assert same_symbol(f" {one} ", other)
    assert SymbolBook([symbol]).spelled(one.upper()) == symbol
    assert SymbolBook([symbol]).spelled(one.lower()) == symbol


@given(SYMBOLS, SYMBOLS)
def test_different_symbols_never_compare_equal(a: str, b: str) -> None:
    assert same_symbol(a, b) is (a == b)


@given(
    SYMBOLS,
    st.sampled_from(["CALL", "PUT", "call", "Put", "CALLE", "pute"]),
    st.lists(st.booleans(), max_size=12),
    st.integers(min_value=1_600_000_000, max_value=1_900_000_000),
    st.integers(min_value=15, max_value=3600),
)
def test_a_profit_row_in_any_case_matches_the_order_it_belongs_to(
    symbol: str, kind: str, flips: list[bool], start: int, duration: int
) -> None:
    written = recase(symbol, flips).upper() if flips[:1] == [True] else recase(symbol, flips)
    row = {
        "contract_id": 77,
        "buy_price": 5,
        "sell_price": 0,
        "purchase_time": start,
        "sell_time": start + duration,
        "shortcode": f"{kind}_{written}_9.5_{start}_{start + duration}_S0P_0",
    }
    view = codec.profit_row(row)
    assert view is not None and view.status == "lost"
    direction = Direction.UP if kind.upper().startswith("CALL") else Direction.DOWN
    request = OrderRequest("o-1", "acc", symbol, direction, 5.0, duration, float(start))
    correlation = Correlation(match_window_s=60.0, clock_margin_s=5.0)
    assert correlation.match(request, [view]) == view


def test_the_issue_s_shortcode_is_read() -> None:
    code = codec.parse_shortcode("PUT_FRXGBPUSD_9.5_1700000000_1700000060_S0P_0")
    assert code is not None and code.contract_type == "PUT"
    assert same_symbol(code.symbol, "frxGBPUSD")


async def test_identical_concurrent_orders_cannot_both_pass_the_reservation() -> None:
    """Two identical orders 2 ms apart: on main both passed ``blocking`` (check, then an
    ``await``, then act). The reservation is one synchronous step."""
    correlation = Correlation(match_window_s=60.0, clock_margin_s=5.0)
    passed: list[str] = []

    async def submit(cid: str, symbol: str) -> None:
        request = OrderRequest(cid, "acc", symbol, Direction.UP, 5.0, 60, 0.0)
        try:
            correlation.reserve(request, 0.0)
        except IdenticalOrderPending:
            return
        await asyncio.sleep(0.002)  # pricing the order: other tasks run meanwhile
        passed.append(cid)

    await asyncio.gather(*(submit(f"c{i}", recase("frxGBPUSD", [i % 2 == 1])) for i in range(20)))
    assert len(passed) == 1
    # released once it is known not to have been written: the next one may go
    correlation.release_unwritten(passed[0])
    correlation.reserve(OrderRequest("later", "acc", "FRXGBPUSD", Direction.UP, 5.0, 60, 0.0), 1)
