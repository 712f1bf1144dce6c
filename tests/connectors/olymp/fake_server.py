"""A loopback Olymp Trade server speaking the web protocol as the brief documents it.

It listens on 127.0.0.1 (port 0) with ``websockets`` for the /otp socket and with a
small asyncio HTTP/1.1 server for the token-renewal and deals-history endpoints, and it
keeps its **own** book (accounts, balances, deals) priced on a seeded random-walk market
in *server* time (local time + ``skew_s``). Nothing below the socket is mocked: the
connector under test talks to it exactly as it would to the real host.

Protocol (brief 4.1–4.10): frames are JSON arrays; requests ``t:2`` with ``uuid``;
replies ``t:3`` echo the uuid; pushes ``t:1`` (some without ``t``); e:98 acks echo the
accepted codes (141 is never accepted, as in the log); e:55 / e:75 are pushed when
subscribed; e:90 replies carry ``ts`` in whole seconds; e:12 / e:280 start e:1 tick
pushes ``{p, t, q}``; e:10 answers ``{p, candles:[{t, open, high, low, close}]}`` (as
e:10 or e:1003) including the bar still forming; e:182 lists payouts; e:23 opens a deal
(reply ``status: proceed`` or ``cancel``, then e:22 and e:55 pushes); e:26 pushes the
close with ``win`` / ``loose`` / ``standoff``; e:31 lists open deals. A bad token gets
close 1008 ``invalid_token``. Unknown pushes (e:110, e:111, e:602) are sprinkled in.

Faults (:class:`Faults`, switch at any time): reply latency (all replies, or deal
replies only), out-of-order replies, a
dropped connection before or after booking a deal, lost / duplicated settlement pushes,
rate-limit errors on deals, 1008 closes, a reconnect storm, burst rejection of
subscriptions, uuid-less candle replies, an unavailable deals history, and an HTTP
refusal of the upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from moonlight.core.connectors.market import MarketSpec, RandomWalkMarket

SERVER_LOG = logging.getLogger("tests.fake_olymp")
ACCEPTED_STREAMS = frozenset(
    {220, 110, 700, 112, 140, 1038, 1037, 1039, 22, 26, 111, 1054, 1076, 1301, 1097, 241,
     230, 231, 75, 1055, 2223, 2301, 55, 150, 152, 151, 126, 602, 601, 2076}
)  # fmt: skip
SPECS = (
    MarketSpec("EURUSD", 1.0850, 0.005, 5),
    MarketSpec("GBPUSD", 1.2700, 0.006, 5),
    MarketSpec("BTCUSD_OTC", 60_000.0, 0.03, 2),
)
PAYOUTS = {"EURUSD": 82.0, "GBPUSD": 80.0, "BTCUSD_OTC": 86.0}
LOCKED_ASSET = "LATAM_X"
LIMITS = {
    "USD": {"min": 1, "max": 3000, "default": 1},
    "EUR": {"min": 1, "max": 2500, "default": 1},
}
CANDLE_BATCH = 100
DEMO_ACCOUNT = "9001"
REAL_ACCOUNT = "7001"


@dataclass
class Faults:
    """Fault switches of the fake server; counters are consumed one per occurrence."""

    latency_s: float = 0.0
    deal_latency_s: float = 0.0
    reorder_replies: bool = False
    drop_before_deal: int = 0
    drop_after_deal: int = 0
    lose_settlements: int = 0
    duplicate_pushes: bool = False
    rate_limit_deals: int = 0
    retry_after_s: float = 1.0
    close_1008_on_connect: int = 0
    storm_drops: int = 0
    storm_after_s: float = 0.05
    candle_reply_event: int = 10
    candle_reply_without_uuid: bool = False
    reject_burst_s: float = 0.0
    history_down: bool = False
    force_status: str | None = None
    min_deal_interval_s: float = 0.0
    reject_tick_subscribe: int = 0
    refuse_upgrade_status: int | None = None


@dataclass
class FakeDeal:
    """The fake broker's record of one deal."""

    id: int
    account_id: str
    group: str
    pair: str
    dir: str
    amount: float
    winperc: float
    duration: int
    time_open: float
    curs_open: float
    status: str = "proceed"
    time_close: float | None = None
    curs_close: float | None = None
    balance_change: float | None = None

    @property
    def expires(self) -> float:
        return self.time_open + self.duration

    @property
    def closed(self) -> bool:
        return self.time_close is not None

    def wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "account_id": int(self.account_id),
            "group": self.group,
            "pair": self.pair,
            "dir": self.dir,
            "amount": self.amount,
            "winperc": self.winperc,
            "duration": self.duration,
            "demo": self.group == "demo",
            "time_open": self.time_open,
            "curs_open": self.curs_open,
            "status": self.status,
            "cat": "digital",
        }
        if self.closed:
            data.update(
                time_close=self.time_close,
                curs_close=self.curs_close,
                balance_change=self.balance_change,
            )
        return data


@dataclass
class Account:
    account_id: str
    group: str
    amount: float
    currency: str = "USD"


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    events: set[int] = field(default_factory=set)
    pairs: set[str] = field(default_factory=set)
    last_subscribe: float = -math.inf
    held_reply: dict[str, Any] | None = None


class FakeOlympServer:
    """The loopback broker; use as ``async with FakeOlympServer() as server``."""

    def __init__(
        self,
        *,
        seed: int = 5,
        tick_interval_s: float = 0.25,
        skew_s: float = 2.5,
        history_s: float = 4 * 3600.0,
        access_tokens: Iterable[str] = ("access-1",),
        refresh_tokens: Iterable[str] = ("refresh-1",),
        durations: tuple[int, int] = (1, 3600),
    ) -> None:
        self.skew_s = skew_s
        self.tick_interval_s = tick_interval_s
        self.market = RandomWalkMarket(
            seed=seed,
            origin_ts=time.time() + skew_s - history_s,
            specs=SPECS,
            tick_interval_s=tick_interval_s,
        )
        self.faults = Faults()
        self.valid_access = set(access_tokens)
        self.valid_refresh = set(refresh_tokens)
        self.min_duration, self.max_duration = durations
        self.accounts = {
            DEMO_ACCOUNT: Account(DEMO_ACCOUNT, "demo", 10_000.0),
            REAL_ACCOUNT: Account(REAL_ACCOUNT, "real", 250.0),
        }
        self.deals: dict[int, FakeDeal] = {}
        self.requests: list[tuple[float, int, Any]] = []
        self.http_requests: list[tuple[str, str]] = []
        self.upgrades: list[tuple[float, dict[str, str]]] = []
        self.close_times: list[float] = []
        self._conns: set[_Conn] = set()
        self._next_id = 550_001
        self._renewals = 0
        self._last_deal: dict[str, float] = {}
        self._ws_server: Server | None = None
        self._http_server: asyncio.Server | None = None
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_tick_ts = self.now()
        self.ws_port = 0
        self.http_port = 0

    # -- life cycle -------------------------------------------------------------------

    async def __aenter__(self) -> FakeOlympServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._ws_server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            ping_interval=None,
            logger=SERVER_LOG,
            process_request=self._gate,
        )
        self.ws_port = self._ws_server.sockets[0].getsockname()[1]
        self._http_server = await asyncio.start_server(self._handle_http, "127.0.0.1", 0)
        self.http_port = self._http_server.sockets[0].getsockname()[1]
        self._last_tick_ts = self.now()
        self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws_server is not None:
            self._ws_server.close()
            await self._ws_server.wait_closed()
        if self._http_server is not None:
            self._http_server.close()
            await self._http_server.wait_closed()

    # -- what tests read and do -------------------------------------------------------

    def now(self) -> float:
        """The broker's clock (local time + skew)."""
        return time.time() + self.skew_s

    @property
    def ws_url(self) -> str:
        app = quote("web@OlympTrade@2025.3.27106@27106", safe="")
        return f"ws://127.0.0.1:{self.ws_port}/otp?cid_ver=1&cid_app={app}&cid_device=%40%40desktop"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def connections(self) -> int:
        """Sockets open right now."""
        return len(self._conns)

    def received(self, event: int) -> list[Any]:
        """Payloads of every request with code ``event``, in arrival order."""
        return [d for _, e, d in self.requests if e == event]

    def deals_of(self, account_id: str = DEMO_ACCOUNT) -> list[FakeDeal]:
        return [d for d in self.deals.values() if d.account_id == account_id]

    async def drop_all(self, code: int = 1011, reason: str = "server restart") -> None:
        """Close every open socket."""
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await conn.ws.close(code, reason)

    # -- WebSocket --------------------------------------------------------------------

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        """HTTP-level refusal of the upgrade (e.g. 403 from the edge on a bad cookie)."""
        status = self.faults.refuse_upgrade_status
        if status is None:
            return None
        self.faults.refuse_upgrade_status = None
        headers = {k.lower(): v for k, v in request.headers.raw_items()}
        self.upgrades.append((time.monotonic(), headers))
        return connection.respond(status, "refused\n")

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        headers = {k.lower(): v for k, v in ws.request.headers.raw_items()}
        self.upgrades.append((time.monotonic(), headers))
        token = _cookie(headers.get("cookie", ""), "access_token")
        if token not in self.valid_access or self.faults.close_1008_on_connect > 0:
            if self.faults.close_1008_on_connect > 0:
                self.faults.close_1008_on_connect -= 1
            await ws.close(1008, "invalid_token")
            self.close_times.append(time.monotonic())
            return
        conn = _Conn(ws)
        self._conns.add(conn)
        if self.faults.storm_drops > 0:
            self.faults.storm_drops -= 1
            self._spawn(self._drop_later(conn, self.faults.storm_after_s))
        try:
            async for raw in ws:
                await self._on_frame(conn, raw)
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)
            self.close_times.append(time.monotonic())

    async def _drop_later(self, conn: _Conn, after_s: float) -> None:
        await asyncio.sleep(after_s)
        with contextlib.suppress(Exception):
            await conn.ws.close(1011, "storm")

    async def _on_frame(self, conn: _Conn, raw: str | bytes) -> None:
        try:
            items = json.loads(raw)
        except ValueError:
            return
        if not isinstance(items, list):
            return
        for item in items:
            if isinstance(item, dict) and item.get("t") == 2 and isinstance(item.get("e"), int):
                self.requests.append((time.monotonic(), item["e"], item.get("d")))
                await self._on_request(conn, item["e"], item.get("d"), item.get("uuid"))

    async def _on_request(self, conn: _Conn, e: int, d: Any, uuid: str | None) -> None:
        if e in (98, 12, 13, 280, 281) and self.faults.reject_burst_s > 0:
            now = time.monotonic()
            burst = now - conn.last_subscribe < self.faults.reject_burst_s
            conn.last_subscribe = now
            if burst:
                await self._reply(conn, e, uuid, [], err="invalid_request")
                return
        if e == 98:
            await self._on_subscribe(conn, d, uuid)
        elif e == 90:
            await self._reply(conn, 90, uuid, {}, ts=int(self.now()))
        elif e in (12, 280):
            pair = _first(d).get("pair")
            if e == 12 and self.faults.reject_tick_subscribe > 0:
                self.faults.reject_tick_subscribe -= 1
                await self._reply(conn, e, uuid, [], err="invalid_request")
                return
            if pair not in self.market.specs:
                await self._reply(conn, e, uuid, [], err="invalid_request")
                return
            conn.pairs.add(pair)
            await self._reply(conn, e, uuid, [{"pair": pair}])
        elif e in (13, 281):
            conn.pairs.discard(_first(d).get("pair"))
            await self._reply(conn, e, uuid, [])
        elif e == 10:
            await self._on_candles(conn, _first(d), uuid)
        elif e == 182:
            await self._reply(conn, 182, uuid, self._payouts())
        elif e == 23:
            await self._on_deal(conn, _first(d), uuid)
        elif e == 31:
            account = str(_first(d).get("account_id"))
            deals = [
                x.wire() for x in self.deals.values() if x.account_id == account and not x.closed
            ]
            await self._reply(conn, 31, uuid, deals)
        # anything else (e:1068, e:1043, ...) draws no reply, as in the 2025 log

    async def _on_subscribe(self, conn: _Conn, d: Any, uuid: str | None) -> None:
        codes = [c for c in d if isinstance(c, int)] if isinstance(d, list) else []
        accepted = [c for c in codes if c in ACCEPTED_STREAMS]
        conn.events.update(accepted)
        frame: list[dict[str, Any]] = [self._reply_item(98, uuid, accepted)]  # one batched frame
        if 55 in accepted:
            frame.append(self._balances_item())
        if 75 in accepted:
            frame.append({"e": 75, "t": 1, "d": LIMITS})
        if 110 in accepted:
            frame.append({"e": 110, "d": [{"id": 1, "email_confirmed": True}]})
        if 602 in accepted:
            frame.append({"e": 602, "t": 1, "d": [0]})
        await self._send(conn, frame)

    async def _on_candles(self, conn: _Conn, d: dict[str, Any], uuid: str | None) -> None:
        pair, size, to = d.get("pair"), d.get("size"), d.get("to")
        if pair not in self.market.specs or not isinstance(size, int) or size <= 0:
            await self._reply(conn, 10, uuid, [], err="invalid_request")
            return
        now = self.now()
        to = min(float(to), now) if isinstance(to, int | float) else now
        closed = self.market.candles(pair, size, count=CANDLE_BATCH, end_ts=min(to + size, now))
        bars = [
            {"t": c.start_ts, "open": c.open, "high": c.high, "low": c.low, "close": c.close}
            for c in closed
            if c.start_ts <= to
        ]
        forming_start = math.floor(now / size) * size
        if forming_start <= to:
            _, prices = self.market.ticks(pair, forming_start - 1e-9, now)
            if len(prices):
                bars.append(
                    {
                        "t": forming_start,
                        "open": float(prices[0]),
                        "high": float(prices.max()),
                        "low": float(prices.min()),
                        "close": float(prices[-1]),
                    }
                )
        bars = bars[-CANDLE_BATCH:]
        reply_uuid = None if self.faults.candle_reply_without_uuid else uuid
        await self._reply(
            conn, self.faults.candle_reply_event, reply_uuid, [{"p": pair, "candles": bars}]
        )

    def _payouts(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {
                "pair": pair,
                "profitability": payout,
                "locked": False,
                "min_duration": self.min_duration,
                "max_duration": self.max_duration,
                "precision": self.market.specs[pair].digits,
            }
            for pair, payout in PAYOUTS.items()
        ]
        items.append({"pair": LOCKED_ASSET, "profitability": 75, "locked": True})
        return items

    async def _on_deal(self, conn: _Conn, d: dict[str, Any], uuid: str | None) -> None:
        if self.faults.drop_before_deal > 0:
            self.faults.drop_before_deal -= 1
            await conn.ws.close(1011, "dropped before the deal")
            return
        account = self.accounts.get(str(d.get("account_id")))
        if self.faults.rate_limit_deals > 0:
            self.faults.rate_limit_deals -= 1
            await self._reply(
                conn, 23, uuid, {"retry_after": self.faults.retry_after_s}, err="rate_limit"
            )
            return
        now = self.now()
        if account is not None and self.faults.min_deal_interval_s > 0:
            last = self._last_deal.get(account.account_id, -math.inf)
            if now - last < self.faults.min_deal_interval_s:
                await self._reply(conn, 23, uuid, {"retry_after": 1}, err="too_many_requests")
                return
        problem = self._deal_problem(account, d)
        if problem is not None:
            await self._reply(conn, 23, uuid, [{"status": "cancel", "reason": problem}])
            return
        assert account is not None
        pair, amount = d["pair"], round(float(d["amount"]), 2)
        deal = FakeDeal(
            id=self._next_id,
            account_id=account.account_id,
            group=account.group,
            pair=pair,
            dir=d["dir"],
            amount=amount,
            winperc=PAYOUTS[pair],
            duration=int(d["duration"]),
            time_open=now,
            curs_open=self._price(pair, now),
        )
        self._next_id += 1
        self.deals[deal.id] = deal
        self._last_deal[account.account_id] = now
        account.amount = round(account.amount - amount, 8)
        if self.faults.drop_after_deal > 0:
            self.faults.drop_after_deal -= 1
            await conn.ws.close(1011, "dropped after the deal")
            return
        await self._reply(conn, 23, uuid, [deal.wire()])
        await self._push(22, [deal.wire()])
        await self._push(55, self._balances_item()["d"])

    def _deal_problem(self, account: Account | None, d: dict[str, Any]) -> str | None:
        if account is None:
            return "unknown account"
        if d.get("group") != account.group:
            return f"account is {account.group}"
        pair = d.get("pair")
        if pair not in PAYOUTS:
            return "asset not available"
        if d.get("dir") not in ("up", "down") or d.get("cat") != "digital":
            return "bad deal"
        amount, duration = d.get("amount"), d.get("duration")
        if not isinstance(amount, int | float) or not isinstance(duration, int):
            return "bad deal"
        limits = LIMITS[account.currency]
        if not limits["min"] <= amount <= limits["max"]:
            return "amount out of limits"
        if not self.min_duration <= duration <= self.max_duration:
            return "duration not allowed"
        if account.amount < amount:
            return "insufficient funds"
        return None

    # -- pushes, replies, pump --------------------------------------------------------

    def _price(self, pair: str, ts: float) -> float:
        price = self.market.price_at(pair, ts)
        assert price is not None
        return price

    def _balances_item(self) -> dict[str, Any]:
        return {
            "e": 55,
            "t": 1,
            "d": [
                {
                    "account_id": int(a.account_id),
                    "group": a.group,
                    "amount": a.amount,
                    "amount_real": a.amount,
                    "amount_free": a.amount,
                    "amount_bonus": 0,
                    "amount_bonus_free": 0,
                    "currency": a.currency,
                    "holds": {"payout": 0},
                }
                for a in self.accounts.values()
            ],
        }

    def _reply_item(self, e: int, uuid: str | None, d: Any, **extra: Any) -> dict[str, Any]:
        item: dict[str, Any] = {"e": e, "t": 3, "d": d}
        if uuid is not None:
            item["uuid"] = uuid
        item.update(extra)
        return item

    async def _reply(self, conn: _Conn, e: int, uuid: str | None, d: Any, **extra: Any) -> None:
        item = self._reply_item(e, uuid, d, **extra)
        delay = self.faults.latency_s + (self.faults.deal_latency_s if e == 23 else 0.0)
        if delay > 0:
            self._spawn(self._later(conn, item, delay))
            return
        await self._deliver(conn, item)

    async def _later(self, conn: _Conn, item: dict[str, Any], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self._deliver(conn, item)

    async def _deliver(self, conn: _Conn, item: dict[str, Any]) -> None:
        if self.faults.reorder_replies:
            if conn.held_reply is None:
                conn.held_reply = item
                return
            item, held = conn.held_reply, item
            conn.held_reply = None
            await self._send(conn, [held])  # the later reply first: out of order
        elif conn.held_reply is not None:
            held, conn.held_reply = conn.held_reply, None
            await self._send(conn, [held])
        await self._send(conn, [item])

    async def flush_held(self) -> None:
        """Send replies held back by ``reorder_replies``."""
        for conn in list(self._conns):
            if conn.held_reply is not None:
                held, conn.held_reply = conn.held_reply, None
                await self._send(conn, [held])

    async def _push(self, e: int, d: Any) -> None:
        copies = 2 if self.faults.duplicate_pushes and e in (22, 26) else 1
        for conn in list(self._conns):
            if e in conn.events:
                for _ in range(copies):
                    await self._send(conn, [{"e": e, "t": 1, "d": d}])

    async def _send(self, conn: _Conn, frame: list[dict[str, Any]]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await conn.ws.send(json.dumps(frame))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_pump(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            await self._pump_once()

    async def _pump_once(self) -> None:
        now = self.now()
        for deal in self._settle_due():
            if self.faults.lose_settlements > 0:
                self.faults.lose_settlements -= 1
            else:
                await self._push(26, [deal.wire()])
            await self._push(55, self._balances_item()["d"])
        previous, self._last_tick_ts = self._last_tick_ts, now
        for conn in list(self._conns):
            ticks: list[dict[str, Any]] = []
            for pair in sorted(conn.pairs):
                times, prices = self.market.ticks(pair, previous, now)
                ticks.extend(
                    {"p": pair, "t": t, "q": q}
                    for t, q in zip(times.tolist(), prices.tolist(), strict=True)
                )
            if ticks:
                await self._send(conn, [{"e": 1, "t": 1, "d": ticks}])

    def _settle_due(self) -> list[FakeDeal]:
        now = self.now()
        settled = []
        for deal in self.deals.values():
            if deal.closed or deal.expires > now:
                continue
            close = self._price(deal.pair, deal.expires)
            status = self.faults.force_status
            self.faults.force_status = None
            if status is None:
                if close == deal.curs_open:
                    status = "standoff"
                else:
                    won = close > deal.curs_open if deal.dir == "up" else close < deal.curs_open
                    status = "win" if won else "loose"
            if status == "win":
                change, credit = (
                    deal.amount * deal.winperc / 100.0,
                    deal.amount * (1 + deal.winperc / 100.0),
                )
            elif status == "standoff":
                change, credit = 0.0, deal.amount
            else:
                change, credit = -deal.amount, 0.0
            deal.status, deal.curs_close, deal.time_close = status, close, deal.expires
            deal.balance_change = round(change, 8)
            account = self.accounts[deal.account_id]
            account.amount = round(account.amount + credit, 8)
            settled.append(deal)
        return settled

    # -- HTTP: token renewal and deals history -----------------------------------------

    async def _handle_http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            self.http_requests.append((method, path))
            status, extra, payload = self._route(method, path, headers, body)
            data = json.dumps(payload).encode()
            response = [f"HTTP/1.1 {status} X", "Content-Type: application/json"]
            response += [f"Set-Cookie: {c}" for c in extra]
            response += [f"Content-Length: {len(data)}", "Connection: close", "", ""]
            writer.write("\r\n".join(response).encode() + data)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[str], Any]:
        cookie = headers.get("cookie", "")
        if method == "POST" and path == "/api/token/renew/web/v1":
            refresh = _cookie(cookie, "refresh_token")
            if refresh not in self.valid_refresh:
                return 401, [], {"error": "invalid_refresh_token"}
            self._renewals += 1
            access, rotated = f"access-r{self._renewals}", f"refresh-r{self._renewals}"
            self.valid_access.add(access)
            self.valid_refresh.discard(refresh)
            self.valid_refresh.add(rotated)
            cookies = [
                f"access_token={access}; Path=/; HttpOnly",
                f"refresh_token={rotated}; Path=/",
            ]
            return 200, cookies, {"expires_in": 172800}
        if method == "POST" and path == "/v3/cabinet/deals-history":
            if _cookie(cookie, "access_token") not in self.valid_access:
                return 401, [], {"error": "unauthorized"}
            if self.faults.history_down:
                return 503, [], {"error": "unavailable"}
            request = json.loads(body or b"{}")
            account = str(request.get("account_id"))
            limit, page = int(request.get("limit", 50)), int(request.get("page", 1))
            closed = sorted(
                (d for d in self.deals.values() if d.account_id == account and d.closed),
                key=lambda d: d.time_close or 0.0,
                reverse=True,
            )
            chunk = closed[(page - 1) * limit : page * limit]
            return 200, [], {"data": [d.wire() for d in chunk]}
        return 404, [], {"error": "not found"}


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _first(d: Any) -> dict[str, Any]:
    if isinstance(d, list) and d and isinstance(d[0], dict):
        return d[0]
    return d if isinstance(d, dict) else {}
