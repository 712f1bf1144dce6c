"""A strict fake Olymp Trade broker, written from the protocol brief (not from a connector).

It is stricter and nastier than the brief's evidence requires wherever the brief leaves
room (sections cited as "brief 4.x"):

* **Transport** (2.1, 3.1, 4.1): a real WebSocket on 127.0.0.1; the token only as the
  ``access_token`` cookie of the upgrade, a bad one closed with 1008 ``invalid_token``;
  frames are JSON arrays, pushes batched with replies; e:110 / e:111 / e:1301 pushes that
  a client must ignore.
* **Subscriptions** (4.2): e:98 acks echo only the accepted codes (141 never); trade,
  balance and limit pushes go only to connections that subscribed to them.
* **Accounts** (3.2): e:55 lists two real accounts and one demo account, each with its
  own id and no currency field; an order is routed by its ``account_id`` alone, so a
  ``group: "demo"`` on a real account's id still trades real money (the nastiest reading).
* **Limits** (4.3, issue 13): e:75 is keyed by **lower-case** currency
  (``usd: {min, max, default}``) and enforced: a stake outside it is answered
  ``status: "cancel"`` with the reason ``amount_limit``.
* **Orders** (4.6): e:23 is validated field by field (``timestamp`` in milliseconds near
  the broker's clock, ``duration`` in seconds inside the asset's range, amount with at
  most 2 decimals); accepted deals get a broker id, ``status: "proceed"``, an e:22 push
  and a balance push. **Settlement** (4.7): e:26 with ``win`` / ``loose`` / ``standoff``
  and ``balance_change``.
* **History** (2.2, 4.4): e:10 answers a batch of ``candle_batch`` bars that ends at
  ``to`` — by default bars that *closed* by ``to`` (``candle_to="end"``), or bars that
  *started* by ``to`` including the forming one (``candle_to="start"``); HTTP
  deals-history pages closed deals newest first, so a deal closing between two page
  requests shifts every later page.
* **Clock** (4.10): :class:`~tests.support.olymp_clock.FakeBrokerClock` — skewed, and
  able to drift, jump or run fast; e:90 ``ts`` is whole seconds.

Faults (:class:`OlympFaults`) are switched by tests at any time: lost / late e:23
replies (the deal is booked all the same), lost / duplicated / late pushes, burst
rejections, an outage during which deals keep settling, HTTP 429s. :meth:`book` is the
broker's truth for :func:`tests.support.broker_book.audit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from moonlight.core.orders import Outcome
from tests.support.broker_book import BookDeal
from tests.support.olymp_clock import FakeBrokerClock

LOG = logging.getLogger("tests.olymp_fake")

#: Streams the server acknowledges (brief 4.2; 141 is never acknowledged in the log).
STREAMS = frozenset(
    {220, 110, 700, 112, 140, 1038, 1037, 1039, 22, 26, 111, 1054, 1076, 1301, 1097, 241,
     230, 231, 75, 1055, 2223, 2301, 55, 150, 152, 151, 126, 602, 601, 2076}
)  # fmt: skip
#: pair → (base price, decimals, payout %, min duration s, max duration s)
ASSETS: dict[str, tuple[float, int, float, int, int]] = {
    "EURUSD": (1.0850, 5, 82.0, 1, 3600),
    "GBPUSD_OTC": (1.2700, 5, 79.0, 1, 3600),
    "ASIA_X": (1520.0, 1, 85.0, 1, 3600),
}
LOCKED = {"LATAM_X": (980.0, 1, 0.0, 60, 3600)}
DEMO_ID = "81210001"
REAL_IDS = ("71210001", "71210002")
CLOSE_STATUS = {Outcome.WIN: "win", Outcome.LOSE: "loose", Outcome.PUSH: "standoff"}
BOOK_OUTCOME = {"win": Outcome.WIN, "loose": Outcome.LOSE, "standoff": Outcome.PUSH}


@dataclass
class OlympFaults:
    """Fault switches; counters are consumed one per occurrence."""

    lose_replies: int = 0
    """e:23 requests that are booked but never answered."""
    late_reply_s: float = 0.0
    """e:23 replies sent this long after the deal was booked."""
    lose_settlements: int = 0
    """Deals whose e:26 push is never sent."""
    duplicate_pushes: bool = False
    """Every e:22 / e:26 push is sent twice."""
    late_push_s: float = 0.0
    """e:22 / e:26 pushes are sent this long late (an e:22 may follow its e:26)."""
    burst_rejects: int = 0
    """e:23 requests answered ``err: invalid_request`` (not booked): the burst limit."""
    history_429: int = 0
    """deals-history requests answered HTTP 429."""
    cancel_reason_field: str = "reason"
    """Field of a cancelled e:23 deal that carries the cancel reason."""


@dataclass
class Deal:
    """One accepted deal in the broker's book."""

    id: int
    account_id: str
    group: str
    pair: str
    dir: str
    amount: float
    winperc: float
    duration: int
    time_open: int
    curs_open: float
    status: str = "proceed"
    time_close: int | None = None
    curs_close: float | None = None
    balance_change: float | None = None

    @property
    def closed(self) -> bool:
        return self.time_close is not None

    def wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "account_id": int(self.account_id),
            "group": self.group,
            "demo": self.group == "demo",
            "pair": self.pair,
            "dir": self.dir,
            "cat": "digital",
            "amount": self.amount,
            "winperc": self.winperc,
            "duration": self.duration,
            "time_open": self.time_open,
            "curs_open": self.curs_open,
            "status": self.status,
        }
        if self.closed:
            data.update(
                time_close=self.time_close,
                curs_close=self.curs_close,
                balance_change=self.balance_change,
            )
        return data

    def book_row(self) -> BookDeal:
        outcome = BOOK_OUTCOME.get(self.status)
        return BookDeal(str(self.id), None, self.amount, outcome, self.balance_change)


@dataclass
class Account:
    account_id: str
    group: str
    amount: float


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    events: set[int] = field(default_factory=set)
    pairs: set[str] = field(default_factory=set)


class StrictOlympBroker:
    """The strict loopback broker; ``async with StrictOlympBroker() as broker``."""

    def __init__(
        self,
        *,
        seed: int = 1,
        clock: FakeBrokerClock | None = None,
        limits: dict[str, dict[str, float]] | None = None,
        candle_batch: int = 100,
        candle_to: Literal["end", "start"] = "end",
        candle_reply_event: int = 10,
        history_s: float = 48 * 3600.0,
        tick_interval_s: float = 0.25,
        timestamp_tolerance_s: float | None = 30.0,
        demo_first: bool = False,
        access_tokens: tuple[str, ...] = ("access-1",),
    ) -> None:
        self.rng = random.Random(seed)
        self.clock = clock or FakeBrokerClock(skew_s=self.rng.uniform(-3.0, 3.0))
        self.limits = limits or {
            "usd": {"min": 1, "max": 3000, "default": 1},
            "inr": {"min": 70, "max": 210000, "default": 70},
        }
        self.candle_batch = candle_batch
        self.candle_to = candle_to
        self.candle_reply_event = candle_reply_event
        self.history_s = history_s
        self.tick_interval_s = tick_interval_s
        self.timestamp_tolerance_s = timestamp_tolerance_s
        self.access_tokens = set(access_tokens)
        self.faults = OlympFaults()
        self.phase = self.rng.uniform(0.0, 100.0)
        accounts = [Account(r, "real", 250.0) for r in REAL_IDS]
        demo = Account(DEMO_ID, "demo", 10_000.0)
        accounts.insert(0 if demo_first else len(accounts), demo)
        self.accounts = {a.account_id: a for a in accounts}
        self.deals: dict[int, Deal] = {}
        self.cancelled: list[dict[str, Any]] = []
        self.requests: list[tuple[int, Any]] = []
        self.http_requests: list[dict[str, Any]] = []
        self.pushes_lost = 0
        self._next_id = self.rng.randrange(10**8, 9 * 10**8)
        self._conns: set[_Conn] = set()
        self._down_until = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ws_server: Server | None = None
        self._http_server: asyncio.Server | None = None
        self.ws_port = self.http_port = 0

    # -- life cycle -------------------------------------------------------------------

    async def __aenter__(self) -> StrictOlympBroker:
        self._ws_server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            ping_interval=None,
            process_request=self._gate,
            logger=LOG,
        )
        self.ws_port = self._ws_server.sockets[0].getsockname()[1]
        self._http_server = await asyncio.start_server(self._handle_http, "127.0.0.1", 0)
        self.http_port = self._http_server.sockets[0].getsockname()[1]
        self._spawn(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        assert self._ws_server is not None and self._http_server is not None
        self._ws_server.close()
        await self._ws_server.wait_closed()
        self._http_server.close()
        await self._http_server.wait_closed()

    @property
    def ws_url(self) -> str:
        app = quote("web@OlympTrade@2025.3.27106@27106", safe="")
        return f"ws://127.0.0.1:{self.ws_port}/otp?cid_ver=1&cid_app={app}&cid_device=%40%40desktop"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # -- what tests read and do -------------------------------------------------------

    def book(self) -> list[BookDeal]:
        """Every accepted deal as the broker's book holds it."""
        return [deal.book_row() for deal in self.deals.values()]

    def deals_on(self, group: str) -> list[Deal]:
        return [d for d in self.deals.values() if d.group == group]

    def received(self, event: int) -> list[Any]:
        return [d for e, d in self.requests if e == event]

    @property
    def down(self) -> bool:
        return time.monotonic() < self._down_until

    async def drop_all(self) -> None:
        """Close every open socket (a server restart)."""
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await conn.ws.close(1011, "server restart")

    async def outage(self, seconds: float) -> None:
        """Drop every socket and refuse upgrades and HTTP for ``seconds`` (deals settle)."""
        self._down_until = time.monotonic() + seconds
        await self.drop_all()

    def swap_groups(self) -> None:
        """The account listed as demo becomes real and vice versa (a broker-side switch)."""
        for account in self.accounts.values():
            account.group = "real" if account.group == "demo" else "demo"

    def price(self, pair: str, server_ts: float) -> float:
        base, decimals, *_ = ASSETS.get(pair) or LOCKED[pair]
        wave = (
            0.002 * math.sin(server_ts / 37.0 + self.phase)
            + 0.0007 * math.sin(server_ts / 3.1 + 2 * self.phase)
            + 0.0002 * math.sin(server_ts * 1.7)
        )
        return round(base * (1.0 + wave), decimals)

    def bar(self, pair: str, start: int, size: int, until: float) -> dict[str, Any]:
        """The bar of ``pair`` starting at ``start``, as seen at server time ``until``."""
        end = min(start + size, until)
        samples = [start + (end - start) * i / 12 for i in range(12)]
        prices = [self.price(pair, t) for t in samples]
        return {
            "t": start,
            "open": prices[0],
            "high": max(prices),
            "low": min(prices),
            "close": prices[-1],
        }

    # -- WebSocket --------------------------------------------------------------------

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.down:
            return connection.respond(503, "maintenance\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        cookie = ws.request.headers.get("Cookie", "")
        token = _cookie(cookie, "access_token")
        if token not in self.access_tokens:
            await ws.close(1008, "invalid_token")
            return
        conn = _Conn(ws)
        self._conns.add(conn)
        try:
            await self._send(conn, [{"e": 110, "d": [{"id": 5, "email_confirmed": True}]}])
            async for raw in ws:
                await self._on_frame(conn, raw)
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)

    async def _on_frame(self, conn: _Conn, raw: str | bytes) -> None:
        try:
            items = json.loads(raw)
        except ValueError:
            return
        if not isinstance(items, list):  # every frame is an array (brief 4.1)
            return
        for item in items:
            if not isinstance(item, dict) or item.get("t") != 2 or type(item.get("e")) is not int:
                continue
            self.requests.append((item["e"], item.get("d")))
            await self._on_request(conn, item["e"], item.get("d"), item.get("uuid"))

    async def _on_request(self, conn: _Conn, e: int, d: Any, uuid: Any) -> None:
        if e == 98:
            await self._on_subscribe(conn, d, uuid)
        elif e == 90:
            await self._reply(conn, 90, uuid, {}, ts=math.floor(self.clock.now()))
        elif e in (12, 280):
            pair = _one(d).get("pair")
            if pair not in ASSETS:
                await self._reply(conn, e, uuid, [], err="invalid_request")
                return
            conn.pairs.add(pair)
            await self._reply(conn, e, uuid, [{"pair": pair}])
        elif e in (13, 281):
            conn.pairs.discard(_one(d).get("pair"))
            await self._reply(conn, e, uuid, [])
        elif e == 10:
            await self._on_candles(conn, d, uuid)
        elif e == 182:
            await self._on_payouts(conn, d, uuid)
        elif e == 23:
            await self._on_deal(conn, d, uuid)
        elif e == 31:
            await self._on_open_deals(conn, d, uuid)
        # anything else (e:1068, e:1043...) draws no reply, as in the 2025 log

    async def _on_subscribe(self, conn: _Conn, d: Any, uuid: Any) -> None:
        codes = d if isinstance(d, list) and all(type(c) is int for c in d) else []
        accepted = [c for c in codes if c in STREAMS]
        conn.events.update(accepted)
        frame = [{"e": 98, "t": 3, "uuid": uuid, "d": accepted}]
        if 55 in accepted:
            frame.append(self._balances())
        if 75 in accepted:
            frame.append({"e": 75, "t": 1, "d": self.limits})
        if 1055 in accepted:
            frame.append({"e": 1055, "t": 1, "d": {"usd": {"min": 1, "max": 2000, "default": 1}}})
        if 1301 in accepted:
            frame.append({"e": 1301, "ts": math.floor(self.clock.now()), "d": [{"rev": 3}]})
        await self._send(conn, frame)

    async def _on_payouts(self, conn: _Conn, d: Any, uuid: Any) -> None:
        if str(_one(d).get("account_id")) not in self.accounts:
            await self._reply(conn, 182, uuid, [], err="invalid_request")
            return
        items = [
            {"pair": p, "profitability": pay, "min_duration": lo, "max_duration": hi,
             "precision": dec, "locked": False}
            for p, (_, dec, pay, lo, hi) in ASSETS.items()
        ] + [{"pair": p, "profitability": 0, "locked": True} for p in LOCKED]  # fmt: skip
        await self._reply(conn, 182, uuid, items)

    async def _on_candles(self, conn: _Conn, d: Any, uuid: Any) -> None:
        query = _one(d)
        pair, size, to = query.get("pair"), query.get("size"), query.get("to")
        if pair not in ASSETS or type(size) is not int or size <= 0 or type(to) is not int:
            await self._reply(conn, 10, uuid, [], err="invalid_request")
            return
        now = self.clock.now()
        origin = math.floor((now - self.history_s) / size) * size
        if self.candle_to == "end":  # bars closed by `to`
            last = min(to, math.floor(now)) - size
        else:  # bars started by `to`, the forming one included
            last = min(to, math.floor(now))
        last = math.floor(last / size) * size
        starts = range(max(origin, last - (self.candle_batch - 1) * size), last + 1, size)
        bars = [self.bar(pair, s, size, now) for s in starts]
        await self._reply(conn, self.candle_reply_event, uuid, [{"p": pair, "candles": bars}])

    async def _on_open_deals(self, conn: _Conn, d: Any, uuid: Any) -> None:
        query = _one(d)
        account = self.accounts.get(str(query.get("account_id")))
        if account is None or query.get("group") != account.group:
            await self._reply(conn, 31, uuid, [], err="invalid_request")
            return
        deals = [x.wire() for x in self.deals.values() if x.account_id == account.account_id]
        await self._reply(conn, 31, uuid, [x for x in deals if x["status"] == "proceed"])

    # -- deals ------------------------------------------------------------------------

    async def _on_deal(self, conn: _Conn, d: Any, uuid: Any) -> None:
        problem = self._invalid_deal(d)
        if problem is not None or self.faults.burst_rejects > 0:
            if problem is None:
                self.faults.burst_rejects -= 1
            LOG.info("e:23 refused: %s", problem or "burst")
            await self._reply(conn, 23, uuid, [], err="invalid_request")
            return
        order = d[0]
        account = self.accounts[str(order["account_id"])]
        amount = float(order["amount"])
        limit = self.limits.get("usd", {"min": 0, "max": math.inf})
        reason = None
        if not limit["min"] <= amount <= limit["max"]:
            reason = "amount_limit"
        elif amount > account.amount:
            reason = "insufficient_funds"
        deal_id = self._next_id
        self._next_id += self.rng.randrange(1, 50)
        now = self.clock.now()
        if reason is not None:
            cancelled = {"id": deal_id, "status": "cancel", "amount": amount,
                         self.faults.cancel_reason_field: reason}  # fmt: skip
            self.cancelled.append(cancelled)
            await self._reply(conn, 23, uuid, [cancelled])
            return
        pair = order["pair"]
        deal = Deal(
            id=deal_id,
            account_id=account.account_id,
            group=account.group,
            pair=pair,
            dir=order["dir"],
            amount=amount,
            winperc=ASSETS[pair][2],
            duration=order["duration"],
            time_open=math.floor(now),
            curs_open=self.price(pair, now),
        )
        self.deals[deal.id] = deal
        account.amount = round(account.amount - amount, 2)
        if self.faults.lose_replies > 0:
            self.faults.lose_replies -= 1
        elif self.faults.late_reply_s > 0:
            self._spawn(self._later(self.faults.late_reply_s, conn, 23, uuid, [deal.wire()]))
        else:
            await self._reply(conn, 23, uuid, [deal.wire()])
        await self._push(22, [deal.wire()])
        await self._push(55, self._balances()["d"])

    def _invalid_deal(self, d: Any) -> str | None:
        """Why an e:23 payload breaks the brief's field list (4.6), or None."""
        if not isinstance(d, list) or len(d) != 1 or not isinstance(d[0], dict):
            return "d must be a one-element list"
        o = d[0]
        need = ("amount", "dir", "pair", "cat", "pos", "source", "account_id", "group",
                "timestamp", "duration")  # fmt: skip
        missing = [k for k in need if k not in o]
        if missing:
            return f"missing {missing}"
        amount = o["amount"]
        if type(amount) not in (int, float) or amount <= 0 or round(amount, 2) != amount:
            return "amount"
        if o["dir"] not in ("up", "down") or o["cat"] != "digital" or o["pos"] != 0:
            return "dir/cat/pos"
        if o["source"] != "platform" or o.get("is_flex", False) is not False:
            return "source/is_flex"
        asset = ASSETS.get(o["pair"])
        if asset is None:
            return "pair not tradable"
        # Routed by account id alone: a "demo" group on a real account's id still lands on
        # real money (brief 3.2: one client sent group "demo" for its real branch).
        if str(o["account_id"]) not in self.accounts or o["group"] not in ("demo", "real"):
            return "account/group"
        duration = o["duration"]
        if type(duration) is not int or not asset[3] <= duration <= asset[4]:
            return "duration"
        stamp = o["timestamp"]
        if type(stamp) is not int or stamp < 10**11:
            return "timestamp must be milliseconds"
        tolerance = self.timestamp_tolerance_s
        if tolerance is not None and abs(stamp / 1000 - self.clock.now()) > tolerance:
            return "timestamp far from the server's clock"
        return None

    def _settle_due(self) -> list[Deal]:
        now = self.clock.now()
        closed = []
        for deal in self.deals.values():
            if deal.closed or now < deal.time_open + deal.duration:
                continue
            close_ts = deal.time_open + deal.duration
            deal.curs_close = self.price(deal.pair, close_ts)
            moved = deal.curs_close - deal.curs_open
            if moved == 0:
                outcome = Outcome.PUSH
            elif (moved > 0) == (deal.dir == "up"):
                outcome = Outcome.WIN
            else:
                outcome = Outcome.LOSE
            deal.status = CLOSE_STATUS[outcome]
            deal.time_close = close_ts
            deal.balance_change = {
                Outcome.WIN: round(deal.amount * deal.winperc / 100.0, 2),
                Outcome.LOSE: -deal.amount,
                Outcome.PUSH: 0.0,
            }[outcome]
            account = self.accounts[deal.account_id]
            account.amount = round(account.amount + deal.amount + deal.balance_change, 2)
            closed.append(deal)
        return closed

    async def _pump(self) -> None:
        """Ticks to subscribers, settlements when deals expire (on the broker's clock)."""
        while True:
            await asyncio.sleep(self.tick_interval_s)
            now = self.clock.now()
            for conn in list(self._conns):
                if conn.pairs:
                    ticks = [{"p": p, "t": round(now, 3), "q": self.price(p, now)}
                             for p in sorted(conn.pairs)]  # fmt: skip
                    await self._send(conn, [{"e": 1, "t": 1, "d": ticks}])
            for deal in self._settle_due():
                if self.faults.lose_settlements > 0:
                    self.faults.lose_settlements -= 1
                    self.pushes_lost += 1
                    continue
                await self._push(26, [deal.wire()])
                await self._push(55, self._balances()["d"])

    async def _push(self, event: int, data: Any) -> None:
        copies = 2 if self.faults.duplicate_pushes and event in (22, 26) else 1
        delay = self.faults.late_push_s if event in (22, 26) else 0.0
        for conn in list(self._conns):
            if event not in conn.events:
                continue
            for _ in range(copies):
                if delay > 0:
                    self._spawn(self._later(delay, conn, event, None, data, push=True))
                else:
                    await self._send(conn, [{"e": event, "t": 1, "d": data}])

    def _balances(self) -> dict[str, Any]:
        rows = [
            {"account_id": int(a.account_id), "group": a.group, "amount": a.amount,
             "amount_real": a.amount, "amount_free": a.amount, "amount_bonus": 0,
             "amount_bonus_free": 0, "holds": {"payout": 0}}
            for a in self.accounts.values()
        ]  # fmt: skip
        return {"e": 55, "t": 1, "d": rows}

    # -- sending ----------------------------------------------------------------------

    async def _reply(self, conn: _Conn, e: int, uuid: Any, d: Any, **extra: Any) -> None:
        await self._send(conn, [{"e": e, "t": 3, "uuid": uuid, "d": d, **extra}])

    async def _later(
        self, delay: float, conn: _Conn, e: int, uuid: Any, d: Any, *, push: bool = False
    ) -> None:
        await asyncio.sleep(delay)
        if push:
            await self._send(conn, [{"e": e, "t": 1, "d": d}])
        else:
            await self._reply(conn, e, uuid, d)

    async def _send(self, conn: _Conn, frame: list[dict[str, Any]]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await conn.ws.send(json.dumps(frame))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- HTTP -------------------------------------------------------------------------

    async def _handle_http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status, payload = self._route(method, path, headers, body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        if self.down:
            return 503, {"error": "maintenance"}
        if method != "POST" or path != "/v3/cabinet/deals-history":
            return 404, {"error": "not found"}
        if _cookie(headers.get("cookie", ""), "access_token") not in self.access_tokens:
            return 401, {"error": "unauthorized"}
        if self.faults.history_429 > 0:
            self.faults.history_429 -= 1
            return 429, {"error": "too many requests"}
        query = json.loads(body or b"{}")
        self.http_requests.append(query)
        account = self.accounts.get(str(query.get("account_id")))
        limit, page = query.get("limit"), query.get("page")
        if account is None or query.get("group") != account.group:
            return 400, {"error": "account"}
        if type(limit) is not int or not 1 <= limit <= 100 or type(page) is not int or page < 1:
            return 400, {"error": "limit/page"}
        closed = sorted(
            (d for d in self.deals.values() if d.account_id == account.account_id and d.closed),
            key=lambda d: (d.time_close or 0, d.id),
            reverse=True,
        )
        rows = closed[(page - 1) * limit : page * limit]
        return 200, {"data": [d.wire() for d in rows]}


def _one(d: Any) -> dict[str, Any]:
    return d[0] if isinstance(d, list) and d and isinstance(d[0], dict) else {}


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
