"""Typed views of the ``d`` payloads MoonLight reads (brief 4.3–4.9).

Each parser takes whatever JSON arrived and returns only the items it could read
completely; a malformed item is skipped (the caller logs the count), never raised on.
Numbers may arrive as JSON numbers or numeric strings; ids as numbers or strings
(normalised to ``str``). Field names follow the brief: ticks ``{p, t, q}``; candles
``{p, candles:[{t, open, high, low, close, volume?}]}``; balances ``{account_id, group,
amount, currency?}``; limits ``{<cur>: {min, max, default}}`` (keys upper-cased here);
payouts ``{pair, profitability, locked?, locked_trading?, disabled?, min_duration?, max_duration?,
precision?}``; deals ``{id, account_id, group, pair, dir, amount, winperc, duration,
time_open, time_close, curs_open, curs_close, status, balance_change}``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from moonlight.core.orders import Direction, Outcome

#: The server's close statuses (sic: "loose") → MoonLight outcomes (brief 4.7).
CLOSE_STATUS: dict[str, Outcome] = {
    "win": Outcome.WIN,
    "loose": Outcome.LOSE,
    "standoff": Outcome.PUSH,
}
#: e:23 reply statuses: "proceed" = accepted and running; "cancel" = refused.
DEAL_ACCEPTED = "proceed"
DEAL_CANCELLED = "cancel"


def number(value: Any) -> float | None:
    """A finite float from a JSON number or numeric string, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str) and 0 < len(value) <= 64:
        try:
            result = float(value)
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def ident(value: Any) -> str | None:
    """An id from a JSON string or integer, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    if isinstance(value, str) and 0 < len(value) <= 128:
        return value
    return None


def text(value: Any, limit: int = 64) -> str | None:
    """A non-empty bounded string, else ``None``."""
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def objects(data: Any) -> Iterator[dict[str, Any]]:
    """The objects of a payload list (a single object counts as a list of one)."""
    if isinstance(data, dict):
        yield data
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                yield item


@dataclass(frozen=True, slots=True)
class TickData:
    """e:1 — one quote: pair, server time (s, fractional), price."""

    pair: str
    ts: float
    price: float


def parse_ticks(data: Any) -> list[TickData]:
    ticks = []
    for item in objects(data):
        pair, ts, price = text(item.get("p")), number(item.get("t")), number(item.get("q"))
        if pair is not None and ts is not None and price is not None and price > 0:
            ticks.append(TickData(pair, ts, price))
    return ticks


@dataclass(frozen=True, slots=True)
class BarData:
    """One bar of an e:10 / e:1003 reply; ``start_ts`` is the bar's opening time."""

    pair: str
    start_ts: float
    open: float
    high: float
    low: float
    close: float
    volume: float


def parse_candles(data: Any) -> list[BarData]:
    bars = []
    for group in objects(data):
        pair = text(group.get("p")) or text(group.get("pair"))
        candles = group.get("candles")
        if pair is None or not isinstance(candles, list):
            continue
        for raw in objects(candles):
            values = [number(raw.get(k)) for k in ("t", "open", "high", "low", "close")]
            if any(v is None for v in values):
                continue
            start, o, h, low, c = (float(v) for v in values if v is not None)
            if not low <= min(o, c) <= max(o, c) <= h:
                continue
            volume = number(raw.get("volume")) or 0.0
            bars.append(BarData(pair, start, o, h, low, c, max(volume, 0.0)))
    return bars


@dataclass(frozen=True, slots=True)
class BalanceData:
    """e:55 — one account's balance."""

    account_id: str
    group: str
    amount: float
    currency: str | None


def parse_balances(data: Any) -> list[BalanceData]:
    balances = []
    for item in objects(data):
        account = ident(item.get("account_id"))
        group = item.get("group")
        amount = number(item.get("amount"))
        if account is None or group not in ("demo", "real") or amount is None:
            continue
        currency = text(item.get("currency"), 8)
        balances.append(BalanceData(account, group, amount, currency))
    return balances


@dataclass(frozen=True, slots=True)
class LimitData:
    """e:75 — stake limits of one currency."""

    currency: str
    min: float
    max: float
    default: float


def parse_limits(data: Any) -> dict[str, LimitData]:
    limits: dict[str, LimitData] = {}
    if not isinstance(data, dict):
        return limits
    for currency, raw in data.items():
        if not isinstance(raw, dict) or not isinstance(currency, str) or len(currency) > 8:
            continue
        low, high = number(raw.get("min")), number(raw.get("max"))
        if low is None or high is None or not 0 < low <= high:
            continue
        default = number(raw.get("default"))
        code = currency.upper()  # the 2025 log keys the table by "usd", "inr", ...
        limits[code] = LimitData(code, low, high, default if default else low)
    return limits


@dataclass(frozen=True, slots=True)
class PayoutData:
    """e:182 / e:183 — one asset's payout (percent) and tradability."""

    pair: str
    payout_pct: float
    is_open: bool
    min_duration_s: float | None
    max_duration_s: float | None
    digits: int | None


def parse_payouts(data: Any) -> list[PayoutData]:
    payouts = []
    for item in objects(data):
        pair = text(item.get("pair")) or text(item.get("p"))
        payout = number(item.get("profitability"))
        if payout is None:
            payout = number(item.get("winperc"))
        if pair is None or payout is None or not 0 <= payout <= 1000:
            continue
        closed = any(item.get(flag) is True for flag in ("locked", "locked_trading", "disabled"))
        precision = number(item.get("precision"))
        digits = int(precision) if precision is not None and 0 <= precision <= 12 else None
        payouts.append(
            PayoutData(
                pair,
                payout,
                not closed,
                number(item.get("min_duration")),
                number(item.get("max_duration")),
                digits,
            )
        )
    return payouts


@dataclass(frozen=True, slots=True)
class DealData:
    """A deal as e:23 replies, e:22 / e:26 pushes, e:31 and the history describe it.

    Every field but ``id`` is optional: pushes may carry only part of the deal, and the
    local book merges what it learns (:meth:`DealData.merged`).
    """

    id: str
    account_id: str | None = None
    group: str | None = None
    pair: str | None = None
    direction: Direction | None = None
    amount: float | None = None
    winperc: float | None = None
    duration_s: float | None = None
    time_open: float | None = None
    time_close: float | None = None
    curs_open: float | None = None
    curs_close: float | None = None
    status: str | None = None
    balance_change: float | None = None

    @property
    def outcome(self) -> Outcome | None:
        """The settlement outcome of a closed deal, ``None`` while open or unknown."""
        return CLOSE_STATUS.get(self.status or "")

    def merged(self, newer: DealData) -> DealData:
        """This deal updated with every field ``newer`` knows."""
        values = {}
        for item in fields(self):
            value = getattr(newer, item.name)
            values[item.name] = value if value is not None else getattr(self, item.name)
        return DealData(**values)


def _direction(value: Any) -> Direction | None:
    if value == "up":
        return Direction.UP
    if value == "down":
        return Direction.DOWN
    return None


def _epoch_s(value: Any) -> float | None:
    """Seconds from a seconds or milliseconds epoch (anything past year 2286 is ms)."""
    result = number(value)
    if result is None or result < 0:
        return None
    return result / 1000.0 if result > 1e10 else result


def parse_deal(item: dict[str, Any]) -> DealData | None:
    deal_id = ident(item.get("id"))
    if deal_id is None:
        return None
    amount = number(item.get("amount"))
    duration = number(item.get("duration"))
    return DealData(
        id=deal_id,
        account_id=ident(item.get("account_id")),
        group=item.get("group") if item.get("group") in ("demo", "real") else None,
        pair=text(item.get("pair")),
        direction=_direction(item.get("dir")),
        amount=amount if amount is not None and amount >= 0 else None,
        winperc=number(item.get("winperc")),
        duration_s=duration if duration is not None and duration > 0 else None,
        time_open=_epoch_s(item.get("time_open")),
        time_close=_epoch_s(item.get("time_close")),
        curs_open=number(item.get("curs_open")),
        curs_close=number(item.get("curs_close")),
        status=text(item.get("status"), 32),
        balance_change=number(item.get("balance_change")),
    )


def parse_deals(data: Any) -> list[DealData]:
    deals = []
    for item in objects(data):
        deal = parse_deal(item)
        if deal is not None:
            deals.append(deal)
    return deals


def parse_history(body: Any) -> list[DealData]:
    """Closed deals from the HTTP deals-history reply (shape unverified: list, ``data`` list,
    or ``data.deals`` / ``data.items`` list are all accepted)."""
    data = body.get("data", body) if isinstance(body, dict) else body
    if isinstance(data, dict):
        data = data.get("deals", data.get("items", []))
    return parse_deals(data)


def accepted_codes(data: Any) -> set[int]:
    """e:98 ack: the flat list of event codes the server accepted."""
    if not isinstance(data, list):
        return set()
    return {v for v in data if isinstance(v, int) and not isinstance(v, bool)}
