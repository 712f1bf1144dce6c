"""A strict fake Deriv broker, written from the protocol brief (section 6), not from the
connector: a real WebSocket server on 127.0.0.1 speaking the legacy v3 API.

What it does as the brief describes it:

* every request is a JSON object whose key names the call; ``req_id`` and
  ``passthrough`` are echoed (``echo_req``); replies carry ``msg_type`` and the result or
  ``error: {code, message}``; streams carry ``subscription: {id}``;
* ``authorize`` by token; a token opens one login (``VRTC…``: virtual/demo, ``CR…``,
  ``MF…``: real) and lists every login it may reach in ``account_list``;
* ``proposal`` (``CALL``/``PUT``/``CALLE``/``PUTE``, stake basis, duration in seconds) →
  a per-connection proposal id, usable once; ``buy`` with that id and a maximum ``price``;
  ``proposal_open_contract`` (``subscribe: 1`` streams it until it settles),
  ``portfolio``, ``profit_table`` and ``statement`` (``limit``/``offset`` paging,
  ``date_from``), ``balance``, ``time``, ``ping``, ``active_symbols``, ``contracts_for``,
  ``forget``/``forget_all``;
* ``CALL`` needs the exit *strictly* above the entry (a tie is lost), ``CALLE`` wins a tie;
* the documented per-minute budgets (new API table) are enforced: over budget → a
  ``RateLimit`` error.

Where it is stricter than the real service: shortcodes are upper-case
(``PUT_FRXGBPUSD_…``); numeric fields of contracts come as strings; a symbol must be
spelled as ``active_symbols`` spells it; ``profit_table`` pages are at most
``page_limit`` rows whatever ``limit`` asks; its clock may drift and jump; and the fault
switches (:class:`Faults`) lose, duplicate or delay replies and settlement pushes, refuse
buys with ``PriceMoved``, answer ``RateLimit`` and take the service down for an outage,
during which contracts keep settling. Market-data *streams* are not offered (a
``ticks_history`` with ``subscribe`` is refused): this fake is about the book.

The book (:attr:`DerivBroker.contracts`) is the broker's truth; :meth:`DerivBroker.book`
turns it into :class:`~tests.support.broker_book.BookDeal` rows for ``audit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from moonlight.core.orders import Outcome
from moonlight.core.runtime.clock import Clock
from tests.support.broker_book import BookDeal

#: The documented per-minute budgets, new API table (brief 6.5).
BUDGETS: dict[str, tuple[frozenset[str], int]] = {
    "trading": (frozenset({"proposal", "proposal_open_contract", "buy", "sell"}), 360),
    "balance": (frozenset({"balance", "statement"}), 100),
    "reports": (frozenset({"portfolio", "profit_table"}), 30),
}
GENERAL_BUDGET = 220
PRIVATE_CALLS = frozenset(
    {
        "proposal",
        "buy",
        "proposal_open_contract",
        "portfolio",
        "profit_table",
        "statement",
        "balance",
        "forget",
        "forget_all",
    }
)
RISE_FALL = {"CALL": 1, "CALLE": 1, "PUT": -1, "PUTE": -1}
REAL_PREFIXES = ("CR", "MF", "MLT", "MX")


def budget_class(call: str) -> str:
    """The documented budget a call shares (``ping`` has its own)."""
    for name, (calls, _) in BUDGETS.items():
        if call in calls:
            return name
    return "ping" if call == "ping" else "general"


@dataclass
class Login:
    loginid: str
    balance: float = 10_000.0
    currency: str = "USD"

    @property
    def is_virtual(self) -> bool:
        return self.loginid.startswith("VRTC")


@dataclass
class Deal:
    """One bought contract in the broker's book."""

    contract_id: int
    loginid: str
    contract_type: str
    symbol: str
    buy_price: float
    payout: float
    start: int
    expiry: int
    passthrough: dict[str, Any]
    buy_txn: int
    status: str = "open"
    entry: float | None = None
    exit: float | None = None
    sell_price: float | None = None
    sell_txn: int | None = None

    @property
    def shortcode(self) -> str:
        """Upper-case, as Deriv writes it: ``PUT_FRXGBPUSD_9.5_<start>_<expiry>_S0P_0``."""
        return (
            f"{self.contract_type}_{self.symbol.upper()}_{self.payout:g}_"
            f"{self.start}_{self.expiry}_S0P_0"
        )

    def outcome(self) -> tuple[Outcome, float] | None:
        if self.sell_price is None:
            return None
        pnl = round(self.sell_price - self.buy_price, 2)
        return (Outcome.WIN, pnl) if self.status == "won" else (Outcome.LOSE, pnl)


@dataclass
class Faults:
    """Switches read at the moment they apply; counters count down as they fire."""

    lose_reply: Counter[str] = field(default_factory=Counter)
    """call → the next N requests are executed but never answered."""
    outage_after_buy: int = 0
    """The next N buys are executed, unanswered, and the service goes down at once."""
    outage_before_buy: int = 0
    """The next N buys never execute: the service goes down as they arrive."""
    outage_s: float = 2.0
    """Length of an outage in server seconds (new connections refused meanwhile)."""
    rate_limit: Counter[str] = field(default_factory=Counter)
    """call → the next N requests are refused with ``RateLimit``."""
    price_moved: int = 0
    """The next N buys are refused with ``PriceMoved``; the market moves."""
    price_move_pct: float = 0.5
    """How much the payout of the next proposals drops after a PriceMoved, percent."""
    lose_pushes: int = 0
    """The next N settlement pushes are lost."""
    duplicate_pushes: bool = False
    late_push_s: float = 0.0
    """Settlement pushes are delayed this long (real seconds)."""


@dataclass(eq=False)
class _Conn:
    socket: ServerConnection
    login: Login | None = None
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)
    watches: dict[int, str] = field(default_factory=dict)  # contract id → subscription id
    echo: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class DerivBroker:
    """The fake service; see the module docstring."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 0,
        symbols: tuple[str, ...] = ("frxGBPUSD", "R_100"),
        payout_rate: float = 0.9,
        page_limit: int = 5,
        enforce_budgets: bool = True,
    ) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.symbols = symbols
        self.payout_rate = payout_rate
        self.page_limit = page_limit
        self.enforce_budgets = enforce_budgets
        self.faults = Faults()
        self.tokens: dict[str, list[Login]] = {}
        self.contracts: dict[int, Deal] = {}
        self.calls: list[tuple[str, float]] = []
        self.clock_offset_s = 0.0
        self.clock_rate = 1.0
        self._origin = clock.now()
        self._prices: dict[tuple[str, int], float] = {}
        self._ids = itertools.count(400_000_001)
        self._txns = itertools.count(900_000_001)
        self._subs = itertools.count(1)
        self._conns: set[_Conn] = set()
        self._down_until = 0.0
        self._window: dict[str, deque[float]] = {}
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # -- set-up -------------------------------------------------------------------------

    def add_token(self, token: str, *loginids: str) -> None:
        """A token that authorises ``loginids`` (the first is the one it opens)."""
        self.tokens[token] = [Login(loginid) for loginid in loginids]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websockets/v3"

    async def start(self) -> None:
        self._server = await serve(
            self._session, "127.0.0.1", 0, process_request=self._handshake, max_size=2**20
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self._spawn(self._settler())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # -- the broker's clock and market --------------------------------------------------

    def now(self) -> int:
        """Server epoch: the shared clock, drifted (``clock_rate``) and offset."""
        local = self.clock.now()
        return int(self._origin + (local - self._origin) * self.clock_rate + self.clock_offset_s)

    def price(self, symbol: str, epoch: int) -> float:
        """A seeded random walk with flat stretches (ties happen)."""
        key = (symbol, epoch)
        if key not in self._prices:
            step = self.rng.choice((-2, -1, 0, 0, 1, 2))
            before = self._prices.get((symbol, epoch - 1), 1.25)
            self._prices[key] = round(before + step * 0.0001, 5)
        return self._prices[key]

    # -- the book -----------------------------------------------------------------------

    def book(self) -> list[BookDeal]:
        """Every deal the broker accepted and how it settled (``audit``'s input)."""
        deals = []
        for deal in self.contracts.values():
            result = deal.outcome()
            cid = deal.passthrough.get("client_req_id")
            deals.append(
                BookDeal(
                    str(deal.contract_id),
                    cid if isinstance(cid, str) else None,
                    deal.buy_price,
                    None if result is None else result[0],
                    None if result is None else result[1],
                )
            )
        return deals

    def calls_of(self, call: str) -> int:
        """How many requests of ``call`` arrived."""
        return sum(1 for name, _ in self.calls if name == call)

    def deals_on(self, *, real: bool) -> list[Deal]:
        """Deals placed on real (``CR…``) or virtual (``VRTC…``) logins."""
        return [d for d in self.contracts.values() if d.loginid.startswith(REAL_PREFIXES) is real]

    async def outage(self, seconds: float | None = None) -> None:
        """Drop every connection and refuse new ones for ``seconds`` of server time."""
        self._down_until = self.now() + (self.faults.outage_s if seconds is None else seconds)
        for conn in list(self._conns):
            conn.socket.transport.abort()

    def _handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.now() < self._down_until:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "down for maintenance\n")
        if "app_id" not in request.path:
            return connection.respond(HTTPStatus.BAD_REQUEST, "app_id required\n")
        return None

    # -- sessions -----------------------------------------------------------------------

    async def _session(self, socket: ServerConnection) -> None:
        conn = _Conn(socket)
        self._conns.add(conn)
        try:
            async for raw in socket:
                await self._handle(conn, raw)
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)

    async def _handle(self, conn: _Conn, raw: str | bytes) -> None:
        try:
            request = json.loads(raw)
        except ValueError:
            await self._send(conn, {"error": {"code": "InputValidationFailed", "message": "JSON"}})
            return
        call = next((k for k in request if k in self._CALLS), None)
        echo = {"echo_req": request, "msg_type": call or "error"}
        if "req_id" in request:
            echo["req_id"] = request["req_id"]
        if call is None:
            message = {"code": "UnrecognisedRequest", "message": "Unrecognised request"}
            await self._send(conn, {**echo, "error": message})
            return
        self.calls.append((call, asyncio.get_running_loop().time()))
        try:
            self._check_budget(call)
            if conn.login is None and call in PRIVATE_CALLS:
                raise ApiError("AuthorizationRequired", "Please log in.")
            result = await getattr(self, f"_call_{call}")(conn, request, echo)
        except ApiError as error:
            await self._send(
                conn, {**echo, "error": {"code": error.code, "message": error.message}}
            )
            return
        if result is None:
            return  # the reply is lost (a fault) or already sent
        if self.faults.lose_reply[call] > 0:
            self.faults.lose_reply[call] -= 1
            return
        await self._send(conn, {**echo, call: result})

    def _check_budget(self, call: str) -> None:
        if self.faults.rate_limit[call] > 0:
            self.faults.rate_limit[call] -= 1
            raise ApiError("RateLimit", f"Rate limit reached for: {call}")
        klass = budget_class(call)
        if not self.enforce_budgets or klass == "ping":
            return
        limit = BUDGETS[klass][1] if klass in BUDGETS else GENERAL_BUDGET
        now = asyncio.get_running_loop().time()
        window = self._window.setdefault(klass, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= limit:
            raise ApiError("RateLimit", f"Rate limit reached for: {call}")
        window.append(now)

    async def _send(self, conn: _Conn, message: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await conn.socket.send(json.dumps(message))

    # -- calls --------------------------------------------------------------------------

    _CALLS = PRIVATE_CALLS | {
        "authorize",
        "ping",
        "time",
        "active_symbols",
        "contracts_for",
        "ticks_history",
    }

    async def _call_authorize(self, conn: _Conn, request: dict[str, Any], _: Any) -> Any:
        logins = self.tokens.get(str(request.get("authorize")))
        if not logins:
            raise ApiError("InvalidToken", "The token is invalid.")
        conn.login = logins[0]
        return {
            "loginid": conn.login.loginid,
            "is_virtual": int(conn.login.is_virtual),
            "currency": conn.login.currency,
            "balance": conn.login.balance,
            "account_list": [
                {"loginid": x.loginid, "is_virtual": int(x.is_virtual), "currency": x.currency}
                for x in logins
            ],
        }

    async def _call_ping(self, *_: Any) -> Any:
        return "pong"

    async def _call_time(self, *_: Any) -> Any:
        return self.now()

    async def _call_active_symbols(self, *_: Any) -> Any:
        return [
            {"symbol": s, "exchange_is_open": 1, "is_trading_suspended": 0, "pip": 0.00001}
            for s in self.symbols
        ]

    async def _call_contracts_for(self, conn: _Conn, request: dict[str, Any], _: Any) -> Any:
        self._symbol(request.get("contracts_for"))
        available = [
            {
                "contract_type": kind,
                "expiry_type": "intraday",
                "min_contract_duration": "15s",
                "max_contract_duration": "1d",
            }
            for kind in ("CALL", "PUT")
        ]
        return {"available": available}

    async def _call_ticks_history(self, conn: _Conn, request: dict[str, Any], _: Any) -> Any:
        raise ApiError("InputValidationFailed", "this fake offers no market data")

    def _symbol(self, value: Any) -> str:
        if value not in self.symbols:  # exact spelling, as active_symbols lists it
            raise ApiError("InvalidSymbol", f"Symbol {value} is invalid.")
        return str(value)

    async def _call_proposal(self, conn: _Conn, request: dict[str, Any], _: Any) -> Any:
        for key in ("contract_type", "currency", "symbol", "amount", "basis", "duration"):
            if key not in request:
                raise ApiError("InputValidationFailed", f"Input validation failed: {key}")
        symbol = self._symbol(request["symbol"])
        kind = request["contract_type"]
        if kind not in RISE_FALL or request["basis"] != "stake":
            raise ApiError("InputValidationFailed", "Input validation failed: contract_type")
        if request.get("duration_unit") != "s" or not 15 <= int(request["duration"]) <= 86_400:
            raise ApiError("OfferingsValidationError", "Trading is not offered for this duration.")
        stake = round(float(request["amount"]), 2)
        if not 0.35 <= stake <= 3000:
            raise ApiError("ContractBuyValidationError", "Stake out of range")
        payout = round(stake * (1 + self.payout_rate), 2)
        proposal_id = f"{conn.socket.id.hex[:8]}-{next(self._subs)}"
        conn.proposals[proposal_id] = {
            "symbol": symbol,
            "kind": kind,
            "stake": stake,
            "payout": payout,
            "duration": int(request["duration"]),
        }
        now = self.now()
        return {
            "id": proposal_id,
            "ask_price": stake,
            "payout": payout,
            "spot": self.price(symbol, now),
            "spot_time": now,
            "date_start": now,
            "date_expiry": now + int(request["duration"]),
            "longcode": f"Win payout if {symbol} is strictly higher/lower than entry spot.",
            "validation_params": {"stake": {"min": "0.35", "max": "3000.00"}},
        }

    async def _call_buy(self, conn: _Conn, request: dict[str, Any], echo: Any) -> Any:
        proposal = conn.proposals.pop(str(request.get("buy")), None)
        if proposal is None:
            raise ApiError("InvalidContractProposal", "Proposal not found or expired.")
        if "price" not in request:
            raise ApiError("InputValidationFailed", "Input validation failed: price")
        if self.faults.outage_before_buy > 0:
            self.faults.outage_before_buy -= 1
            await self.outage()
            return None
        if self.faults.price_moved > 0:
            self.faults.price_moved -= 1
            self.payout_rate *= 1 - self.faults.price_move_pct / 100
            raise ApiError("PriceMoved", "The underlying market has moved too much.")
        if float(request["price"]) + 1e-9 < proposal["stake"]:
            raise ApiError("ContractBuyValidationError", "Contract price above your maximum.")
        login = conn.login
        assert login is not None
        if login.balance < proposal["stake"]:
            raise ApiError("InsufficientBalance", "Your account balance is insufficient.")
        now = self.now()
        deal = Deal(
            contract_id=next(self._ids),
            loginid=login.loginid,
            contract_type=proposal["kind"],
            symbol=proposal["symbol"],
            buy_price=proposal["stake"],
            payout=proposal["payout"],
            start=now,
            expiry=now + proposal["duration"],
            passthrough=dict(request.get("passthrough") or {}),
            buy_txn=next(self._txns),
        )
        self.contracts[deal.contract_id] = deal
        login.balance = round(login.balance - deal.buy_price, 2)
        if self.faults.outage_after_buy > 0:
            self.faults.outage_after_buy -= 1
            await self.outage()
            return None
        return {
            "contract_id": deal.contract_id,
            "transaction_id": deal.buy_txn,
            "buy_price": deal.buy_price,
            "payout": deal.payout,
            "start_time": deal.start,
            "purchase_time": deal.start,
            "longcode": "Win payout if the market moves as bet.",
            "shortcode": deal.shortcode,
            "balance_after": login.balance,
        }

    def _poc(self, deal: Deal, sub_id: str | None) -> dict[str, Any]:
        now = self.now()
        body: dict[str, Any] = {
            "contract_id": deal.contract_id,
            "contract_type": deal.contract_type,
            "underlying": deal.symbol,
            "shortcode": deal.shortcode,
            "buy_price": str(deal.buy_price),
            "payout": str(deal.payout),
            "date_start": deal.start,
            "purchase_time": deal.start,
            "date_expiry": deal.expiry,
            "status": deal.status,
            "is_sold": int(deal.sell_price is not None),
            "is_expired": int(now >= deal.expiry),
            "current_spot": str(self.price(deal.symbol, min(now, deal.expiry))),
        }
        if deal.entry is not None:
            body["entry_tick"] = body["entry_spot"] = str(deal.entry)
        if deal.sell_price is not None:
            body.update(
                exit_tick=str(deal.exit),
                exit_tick_time=deal.expiry,
                sell_price=str(deal.sell_price),
                sell_time=deal.expiry,
                profit=str(round(deal.sell_price - deal.buy_price, 2)),
            )
        if sub_id is not None:
            body["id"] = sub_id
        return body

    async def _call_proposal_open_contract(
        self, conn: _Conn, request: dict[str, Any], echo: dict[str, Any]
    ) -> Any:
        deal = self.contracts.get(request.get("contract_id"))  # type: ignore[arg-type]
        if deal is None or conn.login is None or deal.loginid != conn.login.loginid:
            raise ApiError("InvalidContractId", "Contract not found.")
        sub_id = None
        if request.get("subscribe") == 1 and deal.sell_price is None:
            sub_id = f"poc-{next(self._subs)}"
            conn.watches[deal.contract_id] = sub_id
            conn.echo[sub_id] = (echo.get("req_id"), request)
        result = self._poc(deal, sub_id)
        if sub_id is None:
            return result
        await self._send(
            conn, {**echo, "proposal_open_contract": result, "subscription": {"id": sub_id}}
        )
        return None

    def _own(self, conn: _Conn) -> list[Deal]:
        assert conn.login is not None
        return [d for d in self.contracts.values() if d.loginid == conn.login.loginid]

    async def _call_portfolio(self, conn: _Conn, *_: Any) -> Any:
        open_ = [d for d in self._own(conn) if d.sell_price is None]
        return {
            "contracts": [
                {
                    "contract_id": d.contract_id,
                    "contract_type": d.contract_type,
                    "symbol": d.symbol,
                    "buy_price": d.buy_price,
                    "payout": d.payout,
                    "date_start": d.start,
                    "expiry_time": d.expiry,
                    "purchase_time": d.start,
                    "shortcode": d.shortcode,
                    "transaction_id": d.buy_txn,
                }
                for d in open_
            ]
        }

    def _page(self, rows: list[Any], request: dict[str, Any]) -> list[Any]:
        limit = min(int(request.get("limit", 50)), 500, self.page_limit)
        offset = int(request.get("offset", 0))
        return rows[offset : offset + limit]

    async def _call_profit_table(self, conn: _Conn, request: dict[str, Any], _: Any) -> Any:
        since = int(request.get("date_from", 0))
        sold = [d for d in self._own(conn) if d.sell_price is not None and d.expiry >= since]
        sold.sort(key=lambda d: d.sell_txn or 0, reverse=request.get("sort", "DESC") == "DESC")
        rows = []
        for deal in self._page(sold, request):
            row = {
                "contract_id": deal.contract_id,
                "transaction_id": deal.sell_txn,
                "buy_price": str(deal.buy_price),
                "sell_price": str(deal.sell_price),
                "payout": str(deal.payout),
                "purchase_time": deal.start,
                "sell_time": deal.expiry,
            }
            if request.get("description") == 1:
                row["shortcode"] = deal.shortcode
            rows.append(row)
        return {"count": len(rows), "transactions": rows}

    async def _call_statement(self, conn: _Conn, request: dict[str, Any], _: Any) -> Any:
        since = int(request.get("date_from", 0))
        entries: list[dict[str, Any]] = []
        for deal in self._own(conn):
            entries.append(
                {
                    "action_type": "buy",
                    "amount": -deal.buy_price,
                    "transaction_id": deal.buy_txn,
                    "transaction_time": deal.start,
                    "contract_id": deal.contract_id,
                    "deal": deal,
                }
            )
            if deal.sell_price is not None:
                entries.append(
                    {
                        "action_type": "sell",
                        "amount": deal.sell_price,
                        "transaction_id": deal.sell_txn,
                        "transaction_time": deal.expiry,
                        "contract_id": deal.contract_id,
                        "deal": deal,
                    }
                )
        entries = [e for e in entries if e["transaction_time"] >= since]
        entries.sort(key=lambda e: e["transaction_id"], reverse=True)
        page = self._page(entries, request)
        for entry in page:
            deal = entry.pop("deal")
            if request.get("description") == 1:
                entry["shortcode"] = deal.shortcode
            entry["payout"] = str(deal.payout)
        return {"count": len(page), "transactions": page}

    async def _call_balance(self, conn: _Conn, *_: Any) -> Any:
        assert conn.login is not None
        return {
            "balance": conn.login.balance,
            "currency": conn.login.currency,
            "loginid": conn.login.loginid,
        }

    async def _call_forget(self, conn: _Conn, request: dict[str, Any], _: Any) -> Any:
        sub_id = request.get("forget")
        found = [cid for cid, sub in conn.watches.items() if sub == sub_id]
        for cid in found:
            del conn.watches[cid]
        return int(bool(found))

    async def _call_forget_all(self, conn: _Conn, *_: Any) -> Any:
        forgotten = list(conn.watches.values())
        conn.watches.clear()
        return forgotten

    # -- settlement ---------------------------------------------------------------------

    async def _settler(self) -> None:
        """Settle every expired contract, connected or not (the broker does not wait)."""
        while True:
            now = self.now()
            for deal in list(self.contracts.values()):
                if deal.sell_price is None and now >= deal.expiry:
                    self._settle(deal)
            await asyncio.sleep(0.02)

    def _settle(self, deal: Deal) -> None:
        deal.entry = self.price(deal.symbol, deal.start)
        deal.exit = self.price(deal.symbol, deal.expiry)
        move = (deal.exit > deal.entry) - (deal.exit < deal.entry)
        won = move == RISE_FALL[deal.contract_type] or (move == 0 and deal.contract_type[-1] == "E")
        deal.status = "won" if won else "lost"
        deal.sell_price = deal.payout if won else 0.0
        deal.sell_txn = next(self._txns)
        login = next(
            x for logins in self.tokens.values() for x in logins if x.loginid == deal.loginid
        )
        login.balance = round(login.balance + deal.sell_price, 2)
        for conn in list(self._conns):
            sub_id = conn.watches.pop(deal.contract_id, None)
            if sub_id is None:
                continue
            if self.faults.lose_pushes > 0:
                self.faults.lose_pushes -= 1
                continue
            req_id, request = conn.echo.pop(sub_id, (None, {}))
            push = {
                "msg_type": "proposal_open_contract",
                "echo_req": request,
                "proposal_open_contract": self._poc(deal, sub_id),
                "subscription": {"id": sub_id},
            }
            if req_id is not None:
                push["req_id"] = req_id
            copies = 2 if self.faults.duplicate_pushes else 1
            self._spawn(self._push(conn, push, copies, self.faults.late_push_s))

    async def _push(self, conn: _Conn, push: dict[str, Any], copies: int, delay: float) -> None:
        await asyncio.sleep(delay)
        for _ in range(copies):
            await self._send(conn, push)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
