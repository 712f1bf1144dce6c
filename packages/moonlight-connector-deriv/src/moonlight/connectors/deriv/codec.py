"""Decoders from Deriv's replies to MoonLight's contract types, and the outcome rule.

Every decoder takes the JSON object of one reply (or one list item) and returns a typed
value or raises :class:`~moonlight.connectors.deriv.protocol.ProtocolError`; none of them
raises anything else, so a malformed frame can be logged and skipped.

Rise/fall contract types (``proposal.contract_type``):

* ``CALL`` wins when the exit spot is *strictly* higher than the entry spot, ``PUT``
  when strictly lower; a tie therefore settles as **lost** (Deriv has no push for them);
* ``CALLE`` / ``PUTE`` win on "higher or equal" / "lower or equal" (a tie wins).

Outcome mapping: ``won`` → win, ``lost`` → lose, ``sold`` (closed early) → by the sign of
the profit, ``cancelled`` → abort with zero profit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moonlight.connectors.deriv.protocol import (
    ProtocolError,
    flag,
    integer,
    number,
    objects,
    optional_number,
    text,
)
from moonlight.connectors.deriv.symbols import symbol_key
from moonlight.core.connectors.contract import (
    BrokerOrder,
    BrokerOrderStatus,
    Candle,
    Settlement,
    Tick,
)
from moonlight.core.orders import Direction, Outcome

MONEY_DECIMALS = 8

CONTRACT_DIRECTIONS: dict[str, Direction] = {
    "CALL": Direction.UP,
    "CALLE": Direction.UP,
    "PUT": Direction.DOWN,
    "PUTE": Direction.DOWN,
}

FINAL_STATUSES = frozenset({"won", "lost", "sold", "cancelled"})

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdt])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def contract_type(direction: Direction, *, allow_equal: bool) -> str:
    """The rise/fall contract type that bets ``direction``."""
    if direction is Direction.UP:
        return "CALLE" if allow_equal else "CALL"
    return "PUTE" if allow_equal else "PUT"


def duration_s(value: Any) -> int | None:
    """Seconds of a contracts_for duration such as ``"15s"`` or ``"1d"``; None for ticks."""
    if not isinstance(value, str):
        raise ProtocolError(f"duration: expected text like '15s', got {value!r:.40}")
    match = _DURATION.match(value)
    if match is None:
        raise ProtocolError(f"duration: {value!r:.40} is not <number><s|m|h|d|t>")
    amount, unit = int(match.group(1)), match.group(2)
    return None if unit == "t" else amount * _UNIT_S[unit]


@dataclass(frozen=True, slots=True)
class Shortcode:
    """What a contract's shortcode (``CALL_R_100_19.54_1700000000_1700000060_S0P_0``) says."""

    contract_type: str
    symbol: str
    payout: float
    start_ts: int
    expiry_ts: int | None


def parse_shortcode(value: Any) -> Shortcode | None:
    """Decode a rise/fall shortcode; ``None`` for other contract families or odd shapes."""
    if not isinstance(value, str):
        return None
    parts = value.strip().split("_")
    kind = parts[0].upper()
    if len(parts) < 7 or kind not in CONTRACT_DIRECTIONS:
        return None
    payout_s, start_s, expiry_s = parts[-5], parts[-4], parts[-3]
    symbol = "_".join(parts[1:-5])
    try:
        payout = float(payout_s)
        start = int(start_s) if start_s.isascii() else None
    except ValueError:
        return None
    if start is None or not math.isfinite(payout):
        return None
    expiry_digits = expiry_s.upper().rstrip("F")  # "F": fixed expiry; "5T": five ticks (no epoch)
    expiry = int(expiry_digits) if expiry_digits.isascii() and expiry_digits.isdigit() else None
    if not symbol:
        return None
    return Shortcode(kind, symbol, payout, start, expiry)


# ------------------------------------------------------------------------ market data


def candles(value: Any, instrument: str, timeframe_s: int) -> list[Candle]:
    """``candles[]`` of a ticks_history reply, oldest first."""
    return [candle(item, instrument, timeframe_s) for item in objects(value, "candles")]


def candle(item: Mapping[str, Any], instrument: str, timeframe_s: int) -> Candle:
    """One ``{epoch, open, high, low, close}`` candle (``epoch`` is its start)."""
    return Candle(
        instrument=instrument,
        timeframe_s=timeframe_s,
        start_ts=float(integer(item.get("epoch"), "candle.epoch")),
        open=number(item.get("open"), "candle.open"),
        high=number(item.get("high"), "candle.high"),
        low=number(item.get("low"), "candle.low"),
        close=number(item.get("close"), "candle.close"),
        volume=0.0,
    )


def ohlc(item: Mapping[str, Any], instrument: str, timeframe_s: int) -> Candle:
    """An ``ohlc`` stream message: the forming candle that opened at ``open_time``."""
    return Candle(
        instrument=instrument,
        timeframe_s=timeframe_s,
        start_ts=float(integer(item.get("open_time"), "ohlc.open_time")),
        open=number(item.get("open"), "ohlc.open"),
        high=number(item.get("high"), "ohlc.high"),
        low=number(item.get("low"), "ohlc.low"),
        close=number(item.get("close"), "ohlc.close"),
        volume=0.0,
    )


def tick(item: Mapping[str, Any], instrument: str) -> Tick:
    """A ``tick`` stream message."""
    return Tick(
        instrument=instrument,
        ts=float(integer(item.get("epoch"), "tick.epoch")),
        price=number(item.get("quote"), "tick.quote"),
    )


def history_ticks(value: Any, instrument: str) -> list[Tick]:
    """``history: {prices[], times[]}`` of a ticks_history reply, oldest first."""
    if not isinstance(value, Mapping):
        raise ProtocolError("history: expected an object")
    prices, times = value.get("prices"), value.get("times")
    if not isinstance(prices, list) or not isinstance(times, list) or len(prices) != len(times):
        raise ProtocolError("history: prices and times must be lists of equal length")
    return [
        Tick(instrument, float(integer(t, "history.times")), number(p, "history.prices"))
        for p, t in zip(prices, times, strict=True)
    ]


# ---------------------------------------------------------------------------- contracts


@dataclass(frozen=True, slots=True)
class ContractView:
    """A rise/fall contract as the server describes it (any of poc/portfolio/profit_table)."""

    contract_id: str
    contract_type: str
    symbol: str
    buy_price: float
    payout: float
    start_ts: float
    expiry_ts: float
    status: str
    entry_price: float | None = None
    exit_price: float | None = None
    sell_price: float | None = None
    sell_ts: float | None = None

    @property
    def direction(self) -> Direction:
        return CONTRACT_DIRECTIONS[self.contract_type]

    @property
    def duration_s(self) -> int:
        return round(self.expiry_ts - self.start_ts)

    @property
    def payout_pct(self) -> float:
        """Profit of a win as percent of the stake: payout ÷ buy price − 1."""
        if self.buy_price <= 0:
            return 0.0
        return round((self.payout / self.buy_price - 1.0) * 100.0, 6)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def outcome(self) -> tuple[Outcome, float] | None:
        """``(outcome, profit)`` once the contract is final, else ``None``."""
        if not self.is_final:
            return None
        if self.status == "cancelled":
            return Outcome.ABORT, 0.0
        if self.status == "won":
            sell = self.sell_price if self.sell_price is not None else self.payout
            return Outcome.WIN, round(sell - self.buy_price, MONEY_DECIMALS)
        if self.status == "lost":
            sell = self.sell_price or 0.0
            return Outcome.LOSE, round(sell - self.buy_price, MONEY_DECIMALS)
        profit = round((self.sell_price or 0.0) - self.buy_price, MONEY_DECIMALS)
        if profit > 0:
            return Outcome.WIN, profit
        if profit < 0:
            return Outcome.LOSE, profit
        return Outcome.PUSH, 0.0

    def settlement(self, client_req_id: str | None, account_id: str) -> Settlement | None:
        """The final result, or ``None`` while the contract is open."""
        result = self.outcome()
        if result is None:
            return None
        outcome, pnl = result
        return Settlement(
            broker_order_id=self.contract_id,
            client_req_id=client_req_id,
            account_id=account_id,
            outcome=outcome,
            pnl=pnl,
            entry_price=self.entry_price,
            exit_price=self.exit_price,
            settled_ts=self.sell_ts if self.sell_ts is not None else self.expiry_ts,
        )

    def broker_order(self, client_req_id: str | None, account_id: str) -> BrokerOrder:
        """This contract in the connector contract's terms."""
        settlement = self.settlement(client_req_id, account_id)
        return BrokerOrder(
            broker_order_id=self.contract_id,
            client_req_id=client_req_id,
            account_id=account_id,
            instrument=self.symbol,
            direction=self.direction,
            stake=self.buy_price,
            duration_s=self.duration_s,
            payout_pct=self.payout_pct,
            accepted_ts=self.start_ts,
            expires_ts=self.expiry_ts,
            status=BrokerOrderStatus.OPEN if settlement is None else BrokerOrderStatus.SETTLED,
            entry_price=self.entry_price,
            settlement=settlement,
        )


def _symbol(item: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        if isinstance(item.get(key), str) and item[key]:
            return str(item[key])
    raise ProtocolError(f"contract without a symbol ({'/'.join(keys)})")


def _contract_type(value: Any) -> str | None:
    """A rise/fall contract type in any case (``call`` → ``CALL``); None for others."""
    kind = value.strip().upper() if isinstance(value, str) else None
    return kind if kind in CONTRACT_DIRECTIONS else None


def open_contract(item: Mapping[str, Any]) -> ContractView | None:
    """A ``proposal_open_contract`` object; ``None`` when empty or not a rise/fall contract."""
    if not item:
        return None
    kind = _contract_type(item.get("contract_type"))
    if kind is None:
        return None
    start = integer(item.get("date_start", item.get("purchase_time")), "poc.date_start")
    expiry = integer(item.get("date_expiry", item.get("expiry_time")), "poc.date_expiry")
    status = item.get("status")
    if status not in ("open", "won", "lost", "sold", "cancelled", None):
        raise ProtocolError(f"poc.status: unknown {status!r:.40}")
    if status in (None, "open") and flag(item.get("is_sold")):
        status = "sold"
    sell_time = item.get("sell_time")
    entry = item.get("entry_tick", item.get("entry_spot"))
    exit_ = item.get("exit_tick", item.get("sell_spot"))
    return ContractView(
        contract_id=text(item.get("contract_id"), "poc.contract_id"),
        contract_type=kind,
        symbol=_symbol(item, "underlying", "underlying_symbol", "symbol"),
        buy_price=number(item.get("buy_price"), "poc.buy_price"),
        payout=number(item.get("payout"), "poc.payout"),
        start_ts=float(start),
        expiry_ts=float(expiry),
        status=str(status or "open"),
        entry_price=optional_number(entry, "poc.entry_tick"),
        exit_price=optional_number(exit_, "poc.exit_tick"),
        sell_price=optional_number(item.get("sell_price"), "poc.sell_price"),
        sell_ts=None if sell_time is None else float(integer(sell_time, "poc.sell_time")),
    )


def portfolio_contract(item: Mapping[str, Any]) -> ContractView | None:
    """One ``portfolio.contracts[]`` entry (always open); ``None`` if not rise/fall."""
    kind = _contract_type(item.get("contract_type"))
    if kind is None:
        return None
    return ContractView(
        contract_id=text(item.get("contract_id"), "portfolio.contract_id"),
        contract_type=kind,
        symbol=_symbol(item, "symbol", "underlying_symbol"),
        buy_price=number(item.get("buy_price"), "portfolio.buy_price"),
        payout=number(item.get("payout"), "portfolio.payout"),
        start_ts=float(integer(item.get("date_start"), "portfolio.date_start")),
        expiry_ts=float(integer(item.get("expiry_time"), "portfolio.expiry_time")),
        status="open",
    )


def profit_row(item: Mapping[str, Any]) -> ContractView | None:
    """One ``profit_table.transactions[]`` row (sold); its shortcode gives type and times."""
    code = parse_shortcode(item.get("shortcode"))
    if code is None or item.get("contract_id") is None:
        return None
    buy = number(item.get("buy_price"), "profit_table.buy_price")
    sell = number(item.get("sell_price"), "profit_table.sell_price")
    start = integer(item.get("purchase_time"), "profit_table.purchase_time")
    sell_time = item.get("sell_time")
    sell_ts = None if sell_time is None else float(integer(sell_time, "profit_table.sell_time"))
    expiry = code.expiry_ts if code.expiry_ts is not None else sell_ts
    if expiry is None:
        return None
    payout = optional_number(item.get("payout"), "profit_table.payout")
    payout = payout if payout is not None else code.payout
    # profit_table has no status: a rise/fall contract held to expiry sells for its
    # payout (won) or for nothing (lost); any other price means it was sold early.
    if payout > 0 and abs(sell - payout) < 1e-9:
        status = "won"
    elif sell == 0:
        status = "lost"
    else:
        status = "sold"
    return ContractView(
        contract_id=text(item.get("contract_id"), "profit_table.contract_id"),
        contract_type=code.contract_type,
        symbol=code.symbol,
        buy_price=buy,
        payout=payout,
        start_ts=float(start),
        expiry_ts=float(expiry),
        status=status,
        sell_price=sell,
        sell_ts=sell_ts,
    )


def contract_list(value: Any, name: str, decode: Any) -> list[ContractView]:
    """Decode every rise/fall contract of a list (other families are skipped)."""
    views: list[ContractView] = []
    for item in objects(value, name):
        view = decode(item)
        if view is not None:
            views.append(view)
    return views


# ------------------------------------------------------------------------ trading calls


@dataclass(frozen=True, slots=True)
class Proposal:
    """A priced offer: its per-connection id, ask price, payout and stake limits."""

    proposal_id: str
    ask_price: float
    payout: float
    spot: float | None
    stake_min: float | None
    stake_max: float | None

    @property
    def payout_pct(self) -> float:
        if self.ask_price <= 0:
            return 0.0
        return round((self.payout / self.ask_price - 1.0) * 100.0, 6)


def proposal(item: Mapping[str, Any]) -> Proposal:
    """A ``proposal`` reply object."""
    limits = item.get("validation_params")
    stake_min = item.get("min_stake")
    stake_max = item.get("max_stake")
    if isinstance(limits, Mapping) and isinstance(limits.get("stake"), Mapping):
        stake_min = limits["stake"].get("min", stake_min)
        stake_max = limits["stake"].get("max", stake_max)
    return Proposal(
        proposal_id=text(item.get("id"), "proposal.id"),
        ask_price=number(item.get("ask_price"), "proposal.ask_price"),
        payout=number(item.get("payout"), "proposal.payout"),
        spot=optional_number(item.get("spot"), "proposal.spot"),
        stake_min=optional_number(stake_min, "proposal.min_stake"),
        stake_max=optional_number(stake_max, "proposal.max_stake"),
    )


@dataclass(frozen=True, slots=True)
class Purchase:
    """A ``buy`` reply: the contract that now exists."""

    contract_id: str
    buy_price: float
    payout: float
    start_ts: float
    expiry_ts: float | None

    @property
    def payout_pct(self) -> float:
        if self.buy_price <= 0:
            return 0.0
        return round((self.payout / self.buy_price - 1.0) * 100.0, 6)


def purchase(item: Mapping[str, Any]) -> Purchase:
    """A ``buy`` reply object."""
    start = item.get("start_time", item.get("purchase_time"))
    code = parse_shortcode(item.get("shortcode"))
    return Purchase(
        contract_id=text(item.get("contract_id"), "buy.contract_id"),
        buy_price=number(item.get("buy_price"), "buy.buy_price"),
        payout=number(item.get("payout"), "buy.payout"),
        start_ts=float(integer(start, "buy.start_time")),
        expiry_ts=None if code is None or code.expiry_ts is None else float(code.expiry_ts),
    )


@dataclass(frozen=True, slots=True)
class Authorization:
    """Who the token authorised: login id, demo or real, currency."""

    loginid: str
    is_virtual: bool
    currency: str


def authorization(item: Mapping[str, Any]) -> Authorization:
    """An ``authorize`` reply object."""
    return Authorization(
        loginid=text(item.get("loginid"), "authorize.loginid"),
        is_virtual=flag(item.get("is_virtual")),
        currency=str(item.get("currency") or ""),
    )


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """One ``active_symbols`` entry."""

    symbol: str
    is_open: bool
    pip: float | None


def active_symbols(value: Any) -> dict[str, SymbolInfo]:
    """``active_symbols[]`` by :func:`~moonlight.connectors.deriv.symbols.symbol_key`."""
    result: dict[str, SymbolInfo] = {}
    for item in objects(value, "active_symbols"):
        symbol = _symbol(item, "symbol", "underlying_symbol")
        is_open = flag(item.get("exchange_is_open")) and not flag(item.get("is_trading_suspended"))
        info = SymbolInfo(symbol, is_open, optional_number(item.get("pip"), "pip"))
        result[symbol_key(symbol)] = info
    return result


def rise_fall_durations(value: Any) -> tuple[int, int] | None:
    """``(min_s, max_s)`` of non-tick CALL contracts in a ``contracts_for`` reply."""
    if not isinstance(value, Mapping):
        raise ProtocolError("contracts_for: expected an object")
    low: int | None = None
    high: int | None = None
    for item in objects(value.get("available", []), "contracts_for.available"):
        if item.get("contract_type") not in ("CALL", "PUT", "CALLE", "PUTE"):
            continue
        if item.get("expiry_type") == "tick":
            continue
        lo = duration_s(item.get("min_contract_duration"))
        hi = duration_s(item.get("max_contract_duration"))
        if lo is None or hi is None:
            continue
        low = lo if low is None else min(low, lo)
        high = hi if high is None else max(high, hi)
    if low is None or high is None:
        return None
    return low, high


def digits_of(pip: float | None, default: int = 5) -> int:
    """Decimal places implied by a pip size such as 0.001."""
    if pip is None or pip <= 0:
        return default
    text_value = f"{pip:.10f}".rstrip("0")
    return len(text_value.split(".")[1]) if "." in text_value else 0


def offered_durations(configured: Sequence[int], bounds: tuple[int, int] | None) -> tuple[int, ...]:
    """The configured durations inside the symbol's ``[min, max]``."""
    if bounds is None:
        return ()
    low, high = bounds
    return tuple(sorted(d for d in set(configured) if low <= d <= high))
