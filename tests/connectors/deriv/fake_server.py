"""A loopback fake of Deriv's WebSocket API, with its own book and fault injection.

It speaks the documented API on 127.0.0.1 (port 0): the legacy v3 socket
(``/websockets/v3?app_id=…`` + ``authorize``) and the new API (``POST
/trading/v1/options/accounts/{id}/otp`` over HTTP, then the one-time
``/trading/v1/options/ws/{demo,real}?otp=…`` socket, ``underlying_symbol``). Messages
follow the schemas: ``req_id``/``echo_req``/``passthrough`` echoed, ``msg_type``, result
or ``error: {code, message}``, ``subscription: {id}`` on streams (which also repeat the
subscribing ``req_id``).

The book is the broker's truth: accounts and balances, contracts bought (with the
``passthrough`` each buy carried, so tests can count contracts per ``client_req_id``),
settled at expiry on a seeded tick series (one tick per second of the server's clock).
``CALL``/``PUT`` need a strict move (a tie is lost); ``CALLE``/``PUTE`` win ties.

Fault injection (:class:`Faults`, switch at run time): connection dropped before or after
executing a buy, settlement pushes lost, duplicated pushes, RateLimit answers, reply
latency, out-of-order replies, a connection storm, pong-less pings, garbage frames,
handshake rejections, and an OTP endpoint that hands out an off-allowlist URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from moonlight.core.runtime.clock import Clock

LEGACY_GRANULARITIES = (60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
PRIVATE_CALLS = frozenset({"buy", "proposal_open_contract", "portfolio", "profit_table", "balance"})
CALL_ORDER = (
    "authorize",
    "ping",
    "time",
    "active_symbols",
    "contracts_for",
    "ticks_history",
    "ticks",
    "proposal_open_contract",
    "proposal",
    "buy",
    "portfolio",
    "profit_table",
    "balance",
    "forget_all",
    "forget",
)
CLASS_OF = {
    "proposal": "trading",
    "proposal_open_contract": "trading",
    "buy": "trading",
    "balance": "balance",
    "portfolio": "reports",
    "profit_table": "reports",
}


@dataclass(frozen=True)
class SymbolSpec:
    """One underlying the fake offers."""

    symbol: str
    display_name: str
    base_price: float
    pip: float = 0.01
    volatility: float = 0.0004
    payout_rate: float = 0.95
    min_duration_s: int = 15
    max_duration_s: int = 86_400
    is_open: bool = True
    stake_min: float = 0.35
    stake_max: float = 3000.0
    market: str = "synthetic_index"


DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    SymbolSpec("R_100", "Volatility 100 Index", 1000.0, pip=0.01),
    SymbolSpec("R_50", "Volatility 50 Index", 250.0, pip=0.0001, payout_rate=0.9),
    SymbolSpec(
        "frxEURUSD",
        "EUR/USD",
        1.08,
        pip=0.00001,
        volatility=0.00005,
        payout_rate=0.82,
        min_duration_s=60,
        market="forex",
    ),
    SymbolSpec("OTC_CLOSED", "Closed market", 50.0, is_open=False),
)


@dataclass
class Account:
    loginid: str
    is_virtual: bool
    balance: float
    currency: str = "USD"


@dataclass
class Contract:
    """One bought contract in the fake's book."""

    contract_id: int
    transaction_id: int
    loginid: str
    contract_type: str
    symbol: str
    buy_price: float
    payout: float
    date_start: int
    date_expiry: int
    passthrough: dict[str, Any]
    status: str = "open"
    entry_tick: float | None = None
    entry_tick_time: int | None = None
    exit_tick: float | None = None
    exit_tick_time: int | None = None
    sell_price: float | None = None
    sell_time: int | None = None
    sell_transaction_id: int | None = None

    @property
    def client_req_id(self) -> str | None:
        value = self.passthrough.get("client_req_id")
        return value if isinstance(value, str) else None


@dataclass
class Faults:
    """Fault switches; every field may be changed while the server runs."""

    buy_drops: deque[str] = field(default_factory=deque)  # "before" / "after" per buy
    lose_settlements: bool = False
    duplicate_pushes: bool = False
    rate_limit: Counter[str] = field(default_factory=Counter)  # call → next N refused
    latency_s: float = 0.0
    reorder_replies: bool = False
    reorder_hold_s: float = 0.3
    ignore_pings: bool = False
    storm_remaining: int = 0
    storm_drop_after_s: float = 0.1
    reject_handshakes: int = 0
    garbage_on_connect: list[str | bytes] = field(default_factory=list)
    otp_url_host: str | None = None


@dataclass
class _Stream:
    sub_id: str
    kind: str  # "ticks" | "candles" | "poc"
    req_id: Any
    echo: dict[str, Any]
    symbol: str = ""
    granularity: int = 0
    contract_id: int = 0
    last_epoch: int = 0


@dataclass
class _Conn:
    conn_id: int
    socket: ServerConnection
    dialect: str  # "legacy" | "new"
    opened_at: float
    loginid: str | None = None
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)
    streams: dict[str, _Stream] = field(default_factory=dict)
    held: str | None = None
    held_task: asyncio.Task[None] | None = None


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PriceSeries:
    """Deterministic ticks at every integer epoch, generated lazily from an origin."""

    def __init__(self, spec: SymbolSpec, origin: int, seed: int) -> None:
        self.spec = spec
        self.origin = origin
        self._rng = random.Random(f"{seed}:{spec.symbol}")
        self._prices: list[float] = [spec.base_price]
        self.frozen_from: int | None = None
        self.decimals = max(0, round(-math.log10(spec.pip))) if spec.pip < 1 else 0

    def price(self, epoch: int) -> float:
        index = epoch - self.origin
        if index < 0:
            raise ValueError(f"{self.spec.symbol}: no price before {self.origin}")
        while len(self._prices) <= index:
            last = self._prices[-1]
            step = self._rng.gauss(0.0, self.spec.volatility)
            if self.frozen_from is not None and self.origin + len(self._prices) >= self.frozen_from:
                step = 0.0
            self._prices.append(round(last * math.exp(step), self.decimals))
        return self._prices[index]

    def freeze(self, from_epoch: int) -> None:
        """Prices stay flat from ``from_epoch`` on (ties for rise/fall contracts)."""
        self.frozen_from = from_epoch


class FakeDerivServer:
    """The fake broker; see the module docstring."""

    def __init__(
        self,
        *,
        clock: Clock,
        seed: int = 1,
        symbols: tuple[SymbolSpec, ...] = DEFAULT_SYMBOLS,
        app_id: int = 4242,
        history_s: int = 6 * 3600,
        server_limits_per_min: dict[str, int] | None = None,
    ) -> None:
        self.clock = clock
        self.app_id = app_id
        self.faults = Faults()
        self.specs = {spec.symbol: spec for spec in symbols}
        origin = int(clock.now()) - history_s
        self.series = {s.symbol: PriceSeries(s, origin, seed) for s in symbols}
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, str] = {}  # legacy API token → loginid
        self.pats: dict[str, set[str]] = {}  # new API bearer → account ids
        self.contracts: dict[int, Contract] = {}
        self.calls: list[tuple[int, str, float]] = []  # (conn id, call, loop time)
        self.handshakes: list[float] = []
        self.otp_requests = 0
        self.pushes_lost = 0
        self.drops_done = 0
        self._otps: dict[str, tuple[str, float, bool]] = {}
        self._conns: dict[int, _Conn] = {}
        self._conn_ids = itertools.count(1)
        self._contract_ids = itertools.count(250_000_001)
        self._transaction_ids = itertools.count(510_000_001)
        self._sub_ids = itertools.count(1)
        self._limits = server_limits_per_min or {}
        self._window: dict[str, deque[float]] = {}
        self._server: Server | None = None
        self._http: asyncio.Server | None = None
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_epoch = int(clock.now())
        self._rng = random.Random(seed)
        self.port = 0
        self.http_port = 0

    # -- set-up -------------------------------------------------------------------------

    def add_account(
        self,
        loginid: str,
        *,
        token: str | None = None,
        virtual: bool = True,
        balance: float = 10_000.0,
        currency: str = "USD",
    ) -> Account:
        account = Account(loginid, virtual, balance, currency)
        self.accounts[loginid] = account
        if token is not None:
            self.tokens[token] = loginid
        return account

    def add_pat(self, bearer: str, *account_ids: str) -> None:
        self.pats[bearer] = set(account_ids)

    def revoke(self, token: str) -> None:
        self.tokens.pop(token, None)
        self.pats.pop(token, None)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websockets/v3"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            ping_interval=None,
            max_size=8 * 1024 * 1024,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._http = await asyncio.start_server(self._http_handle, "127.0.0.1", 0)
        self.http_port = self._http.sockets[0].getsockname()[1]
        self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._http is not None:
            self._http.close()
            await self._http.wait_closed()

    # -- inspection ---------------------------------------------------------------------

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    def calls_of(self, call: str) -> int:
        return sum(1 for _, name, _ in self.calls if name == call)

    def contracts_for_client(self, client_req_id: str) -> list[Contract]:
        return [c for c in self.contracts.values() if c.client_req_id == client_req_id]

    def now(self) -> int:
        return int(self.clock.now())

    def price(self, symbol: str, epoch: int | None = None) -> float:
        return self.series[symbol].price(self.now() if epoch is None else epoch)

    async def drop_all(self, code: int | None = None, reason: str = "") -> int:
        """Drop every connection: abruptly (``code=None``) or with a close frame."""
        conns = list(self._conns.values())
        self.drops_done += len(conns)
        for conn in conns:
            if code is None:
                conn.socket.transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await conn.socket.close(code, reason)
        return len(conns)

    def inject(self, frame: str | bytes) -> None:
        """Send one raw frame to every connection (malformed-input tests)."""
        for conn in list(self._conns.values()):
            self._spawn(self._send_raw(conn, frame))

    # -- handshake and connections --------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes.append(asyncio.get_running_loop().time())
        if self.faults.reject_handshakes > 0:
            self.faults.reject_handshakes -= 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "try again later\n")
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        if parts.path == "/websockets/v3":
            if query.get("app_id") != [str(self.app_id)]:
                return connection.respond(HTTPStatus.UNAUTHORIZED, "InvalidAppID\n")
            return None
        if parts.path in ("/trading/v1/options/ws/demo", "/trading/v1/options/ws/real"):
            otp = (query.get("otp") or [""])[0]
            entry = self._otps.get(otp)
            now = asyncio.get_running_loop().time()
            if entry is None or entry[2] or entry[1] < now:
                return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or expired OTP\n")
            account = self.accounts.get(entry[0])
            kind = "demo" if account is not None and account.is_virtual else "real"
            if not parts.path.endswith("/" + kind):
                return connection.respond(HTTPStatus.FORBIDDEN, "wrong account kind\n")
            self._otps[otp] = (entry[0], entry[1], True)
            return None
        return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")

    async def _handle(self, socket: ServerConnection) -> None:
        assert socket.request is not None
        parts = urlsplit(socket.request.path)
        conn = _Conn(
            next(self._conn_ids),
            socket,
            "legacy" if parts.path == "/websockets/v3" else "new",
            asyncio.get_running_loop().time(),
        )
        if conn.dialect == "new":
            otp = (parse_qs(parts.query).get("otp") or [""])[0]
            conn.loginid = self._otps[otp][0]
            self._maybe_storm(conn)
        self._conns[conn.conn_id] = conn
        for frame in self.faults.garbage_on_connect:
            await self._send_raw(conn, frame)
        try:
            async for raw in socket:
                await self._on_frame(conn, raw)
        except ConnectionClosed:
            pass
        finally:
            self._conns.pop(conn.conn_id, None)
            if conn.held_task is not None:
                conn.held_task.cancel()

    def _maybe_storm(self, conn: _Conn) -> None:
        if self.faults.storm_remaining <= 0:
            return
        delay = self.faults.storm_drop_after_s * (0.5 + self._rng.random())
        self._spawn(self._drop_later(conn, delay))

    async def _drop_later(self, conn: _Conn, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        if conn.conn_id in self._conns and self.faults.storm_remaining > 0:
            self.faults.storm_remaining -= 1  # counts only drops that really happened
            self.drops_done += 1
            conn.socket.transport.abort()

    # -- requests -----------------------------------------------------------------------

    async def _on_frame(self, conn: _Conn, raw: str | bytes) -> None:
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            await self._reply(conn, {"echo_req": {}, "msg_type": "error"}, None, None)
            return
        call = next((name for name in CALL_ORDER if name in request), None)
        if call is None:
            error = ApiError("UnrecognisedRequest", "Unrecognised request.")
            await self._reply(conn, request, "error", None, error)
            return
        self.calls.append((conn.conn_id, call, asyncio.get_running_loop().time()))
        if call == "ping" and self.faults.ignore_pings:
            return
        try:
            self._check_limits(call)
            if call in PRIVATE_CALLS and conn.loginid is None:
                raise ApiError("AuthorizationRequired", "Please log in.")
            handler: Callable[[_Conn, dict[str, Any]], Any] = getattr(self, f"_call_{call}")
            result = await handler(conn, request)
        except ApiError as error:
            await self._reply(conn, request, call, None, error)
            return
        except _Dropped:
            return
        msg_type, body, sub_id = result
        await self._reply(conn, request, msg_type, body, None, sub_id)
        if call == "authorize":
            self._maybe_storm(conn)

    def _check_limits(self, call: str) -> None:
        if self.faults.rate_limit[call] > 0:
            self.faults.rate_limit[call] -= 1
            raise ApiError("RateLimit", f"You have reached the rate limit for {call}.")
        klass = CLASS_OF.get(call, "general")
        limit = self._limits.get(klass)
        if limit is None or call == "ping":
            return
        now = asyncio.get_running_loop().time()
        window = self._window.setdefault(klass, deque())
        while window and now - window[0] > 60.0:
            window.popleft()
        if len(window) >= limit:
            raise ApiError("RateLimit", f"You have reached the rate limit for {call}.")
        window.append(now)

    async def _reply(
        self,
        conn: _Conn,
        request: dict[str, Any],
        msg_type: str | None,
        body: Any,
        error: ApiError | None = None,
        sub_id: str | None = None,
    ) -> None:
        message: dict[str, Any] = {"echo_req": request, "msg_type": msg_type or "error"}
        if error is not None:
            message["error"] = {"code": error.code, "message": error.message}
        elif msg_type is not None:
            message[msg_type] = body
        if error is None and msg_type is None:
            message["error"] = {"code": "BadRequest", "message": "Invalid request."}
        if "req_id" in request:
            message["req_id"] = request["req_id"]
        if sub_id is not None:
            message["subscription"] = {"id": sub_id}
        text = json.dumps(message)
        if self.faults.latency_s > 0:
            self._spawn(self._send_later(conn, text, self.faults.latency_s))
            return
        if self.faults.reorder_replies:
            if conn.held is None:
                conn.held = text
                conn.held_task = asyncio.get_running_loop().create_task(self._flush_held(conn))
                return
            held, conn.held = conn.held, None
            if conn.held_task is not None:
                conn.held_task.cancel()
            await self._send_raw(conn, text)
            await self._send_raw(conn, held)
            return
        await self._send_raw(conn, text)

    async def _flush_held(self, conn: _Conn) -> None:
        await asyncio.sleep(self.faults.reorder_hold_s)
        held, conn.held = conn.held, None
        if held is not None:
            await self._send_raw(conn, held)

    async def _send_later(self, conn: _Conn, text: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self._send_raw(conn, text)

    async def _send_raw(self, conn: _Conn, frame: str | bytes) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            await conn.socket.send(frame)

    def _push(self, conn: _Conn, stream: _Stream, msg_type: str, body: dict[str, Any]) -> None:
        message: dict[str, Any] = {
            "echo_req": stream.echo,
            "msg_type": msg_type,
            msg_type: body,
            "subscription": {"id": stream.sub_id},
        }
        if stream.req_id is not None:
            message["req_id"] = stream.req_id
        text = json.dumps(message)
        copies = 2 if self.faults.duplicate_pushes else 1
        for _ in range(copies):
            self._spawn(self._send_raw(conn, text))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _subscribe(self, conn: _Conn, request: dict[str, Any], kind: str, **fields: Any) -> _Stream:
        for stream in conn.streams.values():
            if (
                stream.kind == kind
                and stream.symbol == fields.get("symbol", "")
                and stream.granularity == fields.get("granularity", 0)
                and stream.contract_id == fields.get("contract_id", 0)
            ):
                raise ApiError("AlreadySubscribed", f"You are already subscribed to {kind}.")
        sub_id = uuid.UUID(int=next(self._sub_ids) + (conn.conn_id << 64)).hex
        stream = _Stream(sub_id, kind, request.get("req_id"), request, **fields)
        conn.streams[sub_id] = stream
        return stream

    # -- calls --------------------------------------------------------------------------

    async def _call_authorize(self, conn: _Conn, request: dict[str, Any]) -> Any:
        loginid = self.tokens.get(str(request.get("authorize")))
        if conn.dialect != "legacy" or loginid is None:
            raise ApiError("InvalidToken", "The token is invalid.")
        conn.loginid = loginid
        account = self.accounts[loginid]
        return (
            "authorize",
            {
                "account_list": [
                    {
                        "account_type": "binary",
                        "currency": account.currency,
                        "is_disabled": 0,
                        "is_virtual": int(account.is_virtual),
                        "landing_company_name": "virtual" if account.is_virtual else "svg",
                        "loginid": loginid,
                    }
                ],
                "balance": account.balance,
                "currency": account.currency,
                "email": "trader@example.invalid",
                "fullname": "Test Trader",
                "is_virtual": int(account.is_virtual),
                "landing_company_name": "virtual" if account.is_virtual else "svg",
                "loginid": loginid,
                "scopes": ["read", "trade", "trading_information"],
                "user_id": 1,
            },
            None,
        )

    async def _call_ping(self, conn: _Conn, request: dict[str, Any]) -> Any:
        return ("ping", "pong", None)

    async def _call_time(self, conn: _Conn, request: dict[str, Any]) -> Any:
        return ("time", self.now(), None)

    async def _call_active_symbols(self, conn: _Conn, request: dict[str, Any]) -> Any:
        key = "symbol" if conn.dialect == "legacy" else "underlying_symbol"
        items = [
            {
                "display_name": spec.display_name,
                "exchange_is_open": int(spec.is_open),
                "is_trading_suspended": 0,
                "market": spec.market,
                "pip": spec.pip,
                "submarket": spec.market,
                key: spec.symbol,
            }
            for spec in self.specs.values()
        ]
        return ("active_symbols", items, None)

    async def _call_contracts_for(self, conn: _Conn, request: dict[str, Any]) -> Any:
        spec = self._spec(str(request.get("contracts_for")))
        available = []
        for kind, sentiment in (("CALL", "up"), ("PUT", "down"), ("CALLE", "up"), ("PUTE", "down")):
            available.append(
                {
                    "barrier_category": "euro_atm",
                    "barriers": 0,
                    "contract_category": "callput",
                    "contract_type": kind,
                    "expiry_type": "intraday",
                    "max_contract_duration": f"{spec.max_duration_s // 86_400}d",
                    "min_contract_duration": f"{spec.min_duration_s}s",
                    "sentiment": sentiment,
                    "start_type": "spot",
                    "underlying_symbol": spec.symbol,
                }
            )
            available.append(
                {
                    "contract_category": "callput",
                    "contract_type": kind,
                    "expiry_type": "tick",
                    "max_contract_duration": "10t",
                    "min_contract_duration": "1t",
                    "sentiment": sentiment,
                    "start_type": "spot",
                }
            )
        body = {
            "available": available,
            "close": self.now() + 3600,
            "open": self.now() - 3600,
            "feed_license": "realtime",
            "hit_count": len(available),
            "spot": self.price(spec.symbol),
        }
        return ("contracts_for", body, None)

    def _spec(self, symbol: str) -> SymbolSpec:
        spec = self.specs.get(symbol)
        if spec is None:
            raise ApiError("InvalidSymbol", f"Symbol {symbol} is invalid.")
        return spec

    def _end(self, value: Any) -> int:
        if value in (None, "latest"):
            return self.now()
        try:
            return min(self.now(), int(value))
        except (TypeError, ValueError):
            raise ApiError("InputValidationFailed", "Input validation failed: end") from None

    async def _call_ticks_history(self, conn: _Conn, request: dict[str, Any]) -> Any:
        spec = self._spec(str(request.get("ticks_history")))
        style = request.get("style", "ticks")
        end = self._end(request.get("end"))
        count = int(request.get("count", 5000))
        if not 1 <= count <= 5000:
            raise ApiError("InputValidationFailed", "Input validation failed: count")
        series = self.series[spec.symbol]
        start = max(series.origin, int(request.get("start", series.origin)))
        subscribe = request.get("subscribe") == 1
        if style == "candles":
            granularity = int(request.get("granularity", 60))
            if conn.dialect == "legacy" and granularity not in LEGACY_GRANULARITIES:
                raise ApiError("InputValidationFailed", "Input validation failed: granularity")
            first = (start // granularity) * granularity
            last = (end // granularity) * granularity
            opens = list(range(max(first, last - (count - 1) * granularity), last + 1, granularity))
            candles = [self._candle(spec.symbol, t, granularity, end) for t in opens]
            candles = [c for c in candles if c is not None]
            sub_id = None
            if subscribe:
                stream = self._subscribe(
                    conn, request, "candles", symbol=spec.symbol, granularity=granularity
                )
                stream.last_epoch = end
                sub_id = stream.sub_id
            return ("candles", candles, sub_id)
        times = list(range(max(start, end - count + 1), end + 1))
        history = {"prices": [series.price(t) for t in times], "times": times}
        sub_id = None
        if subscribe:
            stream = self._subscribe(conn, request, "ticks", symbol=spec.symbol)
            stream.last_epoch = end
            sub_id = stream.sub_id
        return ("history", history, sub_id)

    def _candle(
        self, symbol: str, open_time: int, granularity: int, end: int
    ) -> dict[str, Any] | None:
        series = self.series[symbol]
        last = min(end, open_time + granularity - 1)
        first = max(open_time, series.origin)
        if last < first:
            return None
        prices = [series.price(t) for t in range(first, last + 1)]
        return {
            "epoch": open_time,
            "open": prices[0],
            "high": max(prices),
            "low": min(prices),
            "close": prices[-1],
        }

    async def _call_ticks(self, conn: _Conn, request: dict[str, Any]) -> Any:
        spec = self._spec(str(request.get("ticks")))
        stream = self._subscribe(conn, request, "ticks", symbol=spec.symbol)
        stream.last_epoch = self.now()
        body = self._tick_body(spec.symbol, self.now(), stream.sub_id)
        return ("tick", body, stream.sub_id)

    def _tick_body(self, symbol: str, epoch: int, sub_id: str) -> dict[str, Any]:
        price = self.price(symbol, epoch)
        return {
            "ask": price,
            "bid": price,
            "epoch": epoch,
            "id": sub_id,
            "pip_size": self.series[symbol].decimals,
            "quote": price,
            "symbol": symbol,
        }

    async def _call_proposal(self, conn: _Conn, request: dict[str, Any]) -> Any:
        key = "symbol" if conn.dialect == "legacy" else "underlying_symbol"
        if key not in request:
            raise ApiError("InputValidationFailed", f"Missing required parameter {key}")
        spec = self._spec(str(request[key]))
        kind = request.get("contract_type")
        if kind not in ("CALL", "PUT", "CALLE", "PUTE"):
            raise ApiError("OfferingsValidationError", "Trading is not offered for this contract.")
        if not spec.is_open:
            raise ApiError("MarketIsClosed", "This market is presently closed.")
        units = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
        unit = request.get("duration_unit", "s")
        if unit not in units or not isinstance(request.get("duration"), int):
            raise ApiError("OfferingsValidationError", "Trading is not offered for this duration.")
        duration_s = request["duration"] * units[unit]
        if not spec.min_duration_s <= duration_s <= spec.max_duration_s:
            raise ApiError("OfferingsValidationError", "Trading is not offered for this duration.")
        if request.get("basis", "payout") != "stake":
            raise ApiError("OfferingsValidationError", "Only stake basis is offered here.")
        amount = request.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise ApiError("InputValidationFailed", "Input validation failed: amount")
        stake = round(float(amount), 2)
        if not spec.stake_min <= stake <= spec.stake_max:
            raise ApiError(
                "ContractBuyValidationError",
                f"Stake must be between {spec.stake_min:.2f} and {spec.stake_max:.2f}.",
            )
        if conn.loginid is not None:
            currency = self.accounts[conn.loginid].currency
            if request.get("currency") != currency:
                raise ApiError("InvalidCurrency", f"The provided currency is not {currency}.")
        payout = round(stake * (1.0 + spec.payout_rate), 2)
        proposal_id = uuid.uuid4().hex
        now = self.now()
        conn.proposals[proposal_id] = {
            "symbol": spec.symbol,
            "contract_type": kind,
            "stake": stake,
            "payout": payout,
            "duration_s": duration_s,
        }
        strict = "strictly higher than" if kind == "CALL" else "strictly lower than"
        if kind in ("CALLE", "PUTE"):
            strict = "higher than or equal to" if kind == "CALLE" else "lower than or equal to"
        body = {
            "ask_price": stake,
            "date_expiry": now + duration_s,
            "date_start": now,
            "display_value": f"{stake:.2f}",
            "id": proposal_id,
            "longcode": f"Win payout if {spec.display_name} is {strict} entry spot at"
            f" {duration_s} seconds after contract start time.",
            "payout": payout,
            "spot": self.price(spec.symbol),
            "spot_time": now,
            "validation_params": {
                "stake": {"min": f"{spec.stake_min:.2f}", "max": f"{spec.stake_max:.2f}"}
            },
        }
        return ("proposal", body, None)

    async def _call_buy(self, conn: _Conn, request: dict[str, Any]) -> Any:
        proposal = conn.proposals.get(str(request.get("buy")))
        if proposal is None:
            raise ApiError("InvalidContractProposal", "Proposal not found or expired.")
        price = request.get("price")
        if isinstance(price, bool) or not isinstance(price, int | float):
            raise ApiError("InputValidationFailed", "Input validation failed: price")
        if price + 1e-9 < proposal["stake"]:
            raise ApiError(
                "ContractBuyValidationError",
                "Contract's stake amount is more than the maximum purchase price.",
            )
        assert conn.loginid is not None
        account = self.accounts[conn.loginid]
        if account.balance + 1e-9 < proposal["stake"]:
            raise ApiError("InsufficientBalance", "Your account balance is insufficient.")
        drop = self.faults.buy_drops.popleft() if self.faults.buy_drops else None
        if drop == "before":
            conn.socket.transport.abort()
            raise _Dropped
        del conn.proposals[str(request["buy"])]
        now = self.now()
        passthrough = request.get("passthrough")
        contract = Contract(
            contract_id=next(self._contract_ids),
            transaction_id=next(self._transaction_ids),
            loginid=account.loginid,
            contract_type=proposal["contract_type"],
            symbol=proposal["symbol"],
            buy_price=proposal["stake"],
            payout=proposal["payout"],
            date_start=now,
            date_expiry=now + proposal["duration_s"],
            passthrough=passthrough if isinstance(passthrough, dict) else {},
        )
        self.contracts[contract.contract_id] = contract
        account.balance = round(account.balance - contract.buy_price, 2)
        if drop == "after":
            conn.socket.transport.abort()
            raise _Dropped
        sub_id = None
        if request.get("subscribe") == 1:
            stream = self._subscribe(conn, request, "poc", contract_id=contract.contract_id)
            sub_id = stream.sub_id
        body = {
            "balance_after": account.balance,
            "buy_price": contract.buy_price,
            "contract_id": contract.contract_id,
            "longcode": f"Win payout if {contract.symbol} moves as bet.",
            "payout": contract.payout,
            "purchase_time": now,
            "shortcode": self._shortcode(contract),
            "start_time": now,
            "transaction_id": contract.transaction_id,
        }
        return ("buy", body, sub_id)

    def _shortcode(self, contract: Contract) -> str:
        return (
            f"{contract.contract_type}_{contract.symbol}_{contract.payout:g}_"
            f"{contract.date_start}_{contract.date_expiry}_S0P_0"
        )

    def _poc_body(self, conn: _Conn, contract: Contract, sub_id: str | None) -> dict[str, Any]:
        now = self.now()
        spot = self.price(contract.symbol, min(now, contract.date_expiry))
        sold = contract.status != "open"
        bid = contract.sell_price if sold else round(contract.payout / 2, 2)
        profit = round((bid or 0.0) - contract.buy_price, 2)
        as_text = conn.dialect == "new"
        body: dict[str, Any] = {
            "account_id": 1,
            "buy_price": contract.buy_price,
            "contract_id": contract.contract_id,
            "contract_type": contract.contract_type,
            "currency": self.accounts[contract.loginid].currency,
            "current_spot": spot,
            "current_spot_time": min(now, contract.date_expiry),
            "date_expiry": contract.date_expiry,
            "date_settlement": contract.date_expiry,
            "date_start": contract.date_start,
            "display_name": self.specs[contract.symbol].display_name,
            "entry_spot": contract.entry_tick,
            "entry_tick": contract.entry_tick,
            "entry_tick_time": contract.entry_tick_time,
            "expiry_time": contract.date_expiry,
            "is_expired": int(now >= contract.date_expiry),
            "is_settleable": int(now >= contract.date_expiry),
            "is_sold": int(sold),
            "is_valid_to_sell": int(not sold),
            "longcode": f"Win payout if {contract.symbol} moves as bet.",
            "payout": str(contract.payout) if as_text else contract.payout,
            "profit": str(profit) if as_text else profit,
            "purchase_time": contract.date_start,
            "shortcode": self._shortcode(contract),
            "status": contract.status,
            "transaction_ids": {"buy": contract.transaction_id},
            "underlying": contract.symbol,
        }
        if contract.exit_tick is not None:
            body["exit_tick"] = contract.exit_tick
            body["exit_tick_time"] = contract.exit_tick_time
        if sold:
            body["sell_price"] = contract.sell_price
            body["sell_time"] = contract.sell_time
            body["transaction_ids"]["sell"] = contract.sell_transaction_id
        if sub_id is not None:
            body["id"] = sub_id
        return body

    async def _call_proposal_open_contract(self, conn: _Conn, request: dict[str, Any]) -> Any:
        contract_id = request.get("contract_id")
        if contract_id is None:
            return ("proposal_open_contract", {}, None)
        contract = self.contracts.get(contract_id) if isinstance(contract_id, int) else None
        if contract is None or contract.loginid != conn.loginid:
            return ("proposal_open_contract", {}, None)
        sub_id = None
        if request.get("subscribe") == 1 and contract.status == "open":
            sub_id = self._subscribe(conn, request, "poc", contract_id=contract.contract_id).sub_id
        return ("proposal_open_contract", self._poc_body(conn, contract, sub_id), sub_id)

    async def _call_portfolio(self, conn: _Conn, request: dict[str, Any]) -> Any:
        contracts = [
            {
                "app_id": self.app_id,
                "buy_price": c.buy_price,
                "contract_id": c.contract_id,
                "contract_type": c.contract_type,
                "currency": self.accounts[c.loginid].currency,
                "date_start": c.date_start,
                "expiry_time": c.date_expiry,
                "longcode": f"Win payout if {c.symbol} moves as bet.",
                "payout": c.payout,
                "purchase_time": c.date_start,
                "shortcode": self._shortcode(c),
                "symbol": c.symbol,
                "transaction_id": c.transaction_id,
            }
            for c in self.contracts.values()
            if c.loginid == conn.loginid and c.status == "open"
        ]
        return ("portfolio", {"contracts": contracts}, None)

    async def _call_profit_table(self, conn: _Conn, request: dict[str, Any]) -> Any:
        date_from = int(request.get("date_from", 0))
        date_to = int(request.get("date_to", 2**40))
        limit = int(request.get("limit", 50))
        offset = int(request.get("offset", 0))
        rows = [
            c
            for c in self.contracts.values()
            if c.loginid == conn.loginid
            and c.status != "open"
            and date_from <= c.date_start <= date_to
        ]
        rows.sort(key=lambda c: c.sell_time or 0, reverse=request.get("sort", "DESC") == "DESC")
        rows = rows[offset : offset + limit]
        transactions = []
        for c in rows:
            row: dict[str, Any] = {
                "app_id": self.app_id,
                "buy_price": c.buy_price,
                "contract_id": c.contract_id,
                "duration_type": "seconds",
                "payout": c.payout,
                "purchase_time": c.date_start,
                "sell_price": c.sell_price,
                "sell_time": c.sell_time,
                "transaction_id": c.sell_transaction_id,
            }
            if request.get("description") == 1:
                row["shortcode"] = self._shortcode(c)
                row["longcode"] = f"Win payout if {c.symbol} moves as bet."
            transactions.append(row)
        return ("profit_table", {"count": len(transactions), "transactions": transactions}, None)

    async def _call_balance(self, conn: _Conn, request: dict[str, Any]) -> Any:
        assert conn.loginid is not None
        account = self.accounts[conn.loginid]
        body = {
            "balance": account.balance,
            "currency": account.currency,
            "loginid": account.loginid,
        }
        return ("balance", body, None)

    async def _call_forget(self, conn: _Conn, request: dict[str, Any]) -> Any:
        removed = conn.streams.pop(str(request.get("forget")), None)
        return ("forget", int(removed is not None), None)

    async def _call_forget_all(self, conn: _Conn, request: dict[str, Any]) -> Any:
        kinds = request.get("forget_all")
        wanted = {kinds} if isinstance(kinds, str) else set(kinds or [])
        names = {"ticks": "ticks", "candles": "candles", "proposal_open_contract": "poc"}
        gone = [s for s, st in conn.streams.items() if st.kind in {names.get(k) for k in wanted}]
        for sub_id in gone:
            del conn.streams[sub_id]
        return ("forget_all", gone, None)

    # -- the pump: ticks, streams, settlement ------------------------------------------

    async def _run_pump(self) -> None:
        while True:
            await self.clock.sleep_until(self._last_epoch + 1)
            now = self.now()
            for epoch in range(self._last_epoch + 1, now + 1):
                self._second(epoch)
            self._last_epoch = max(self._last_epoch, now)

    def _second(self, epoch: int) -> None:
        for contract in list(self.contracts.values()):
            if contract.status != "open":
                continue
            if contract.entry_tick is None and epoch > contract.date_start:
                contract.entry_tick = self.price(contract.symbol, contract.date_start + 1)
                contract.entry_tick_time = contract.date_start + 1
            if epoch >= contract.date_expiry:
                self._settle(contract, epoch)
        for conn in list(self._conns.values()):
            for stream in list(conn.streams.values()):
                self._stream_second(conn, stream, epoch)

    def _settle(self, contract: Contract, epoch: int) -> None:
        entry = contract.entry_tick
        if entry is None:
            entry = self.price(contract.symbol, contract.date_start + 1)
            contract.entry_tick, contract.entry_tick_time = entry, contract.date_start + 1
        exit_ = self.price(contract.symbol, contract.date_expiry)
        won = {
            "CALL": exit_ > entry,
            "PUT": exit_ < entry,
            "CALLE": exit_ >= entry,
            "PUTE": exit_ <= entry,
        }[contract.contract_type]
        contract.exit_tick, contract.exit_tick_time = exit_, contract.date_expiry
        contract.status = "won" if won else "lost"
        contract.sell_price = contract.payout if won else 0.0
        contract.sell_time = contract.date_expiry
        contract.sell_transaction_id = next(self._transaction_ids)
        account = self.accounts[contract.loginid]
        account.balance = round(account.balance + contract.sell_price, 2)
        del epoch

    def _stream_second(self, conn: _Conn, stream: _Stream, epoch: int) -> None:
        if epoch <= stream.last_epoch:
            return
        stream.last_epoch = epoch
        if stream.kind == "ticks":
            self._push(conn, stream, "tick", self._tick_body(stream.symbol, epoch, stream.sub_id))
        elif stream.kind == "candles":
            open_time = (epoch // stream.granularity) * stream.granularity
            candle = self._candle(stream.symbol, open_time, stream.granularity, epoch)
            assert candle is not None
            body = {
                "close": candle["close"],
                "epoch": epoch,
                "granularity": stream.granularity,
                "high": candle["high"],
                "id": stream.sub_id,
                "low": candle["low"],
                "open": candle["open"],
                "open_time": open_time,
                "pip_size": self.series[stream.symbol].decimals,
                "symbol": stream.symbol,
            }
            self._push(conn, stream, "ohlc", body)
        elif stream.kind == "poc":
            contract = self.contracts[stream.contract_id]
            final = contract.status != "open"
            if final:
                conn.streams.pop(stream.sub_id, None)
                if self.faults.lose_settlements:
                    self.pushes_lost += 1
                    return
            body = self._poc_body(conn, contract, stream.sub_id)
            self._push(conn, stream, "proposal_open_contract", body)

    # -- the new API's REST endpoint (OTP) ----------------------------------------------

    async def _http_handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = Headers()
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip()] = value.strip()
            length = int(headers.get("Content-Length", "0"))
            if length:
                await reader.readexactly(length)
            status, body = self._otp(method, target, headers)
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ValueError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _otp(self, method: str, target: str, headers: Headers) -> tuple[HTTPStatus, Any]:
        self.otp_requests += 1
        path = urlsplit(target).path
        prefix, suffix = "/trading/v1/options/accounts/", "/otp"
        if method != "POST" or not (path.startswith(prefix) and path.endswith(suffix)):
            return HTTPStatus.NOT_FOUND, _rest_error(404, "NotFound", "No such endpoint", path)
        account_id = path[len(prefix) : -len(suffix)]
        bearer = headers.get("Authorization", "")
        token = bearer[7:] if bearer.startswith("Bearer ") else ""
        if token not in self.pats or headers.get("Deriv-App-ID") != str(self.app_id):
            return HTTPStatus.UNAUTHORIZED, _rest_error(
                401, "Unauthorized", "Invalid or missing authentication credentials", path
            )
        if account_id not in self.pats[token] or account_id not in self.accounts:
            return HTTPStatus.BAD_REQUEST, _rest_error(
                400, "ValidationError", "Invalid account ID format", path
            )
        otp = uuid.uuid4().hex
        self._otps[otp] = (account_id, asyncio.get_running_loop().time() + 120.0, False)
        kind = "demo" if self.accounts[account_id].is_virtual else "real"
        host = self.faults.otp_url_host or "127.0.0.1"
        url = f"ws://{host}:{self.port}/trading/v1/options/ws/{kind}?otp={otp}"
        return HTTPStatus.OK, {"data": {"url": url}}


class _Dropped(Exception):
    """The connection was dropped on purpose while handling a request."""


def _rest_error(status: int, code: str, message: str, endpoint: str) -> dict[str, Any]:
    return {
        "errors": [{"status": status, "code": code, "message": message}],
        "meta": {"endpoint": endpoint, "method": "POST", "timing": 1},
    }
