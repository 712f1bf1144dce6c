"""One signed-in console: polls the REST API, follows the WebSocket, keeps the state.

:class:`ConsoleSession` runs two loops until stopped: a poller that fetches each area
(status, workers, orders, results, alarms, calibration, overrides, config) on its own
interval -- or at once when the WebSocket says it changed -- and the live feed
(:func:`moonlight.console.live.follow`). After every change it calls ``on_change`` with
the areas that changed, and the UI redraws those. A failed poll keeps the last data and
marks it stale; the poller keeps trying, so the console reconnects by itself. A 401
ends the session (``signed_out``): the operator signs in again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from moonlight.console import live
from moonlight.console.api import ApiClient, ApiError
from moonlight.console.models import LiveMessage
from moonlight.console.state import ConsoleState

log = logging.getLogger("moonlight.console")

TICK_S = 0.25


@dataclass(frozen=True, slots=True)
class Intervals:
    """Seconds between polls of each area (None: only when asked or marked dirty)."""

    every_s: dict[str, float | None] = field(
        default_factory=lambda: {
            "status": 2.0,
            "workers": 4.0,
            "orders": 5.0,
            "results": 10.0,
            "alarms": 10.0,
            "calibration": 30.0,
            "overrides": None,
            "config": None,
        }
    )


class ConsoleSession:
    """The data side of a signed-in console (no UI)."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_change: Callable[[set[str]], None] = lambda areas: None,
        intervals: Intervals | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.state = ConsoleState()
        self.signed_out = False
        self._on_change = on_change
        self._intervals = (intervals or Intervals()).every_s
        self._clock = clock
        self._due: dict[str, float] = {}
        self._dirty: set[str] = set(k for k, v in self._intervals.items() if v is not None)
        self._wake = asyncio.Event()
        self._fetchers: dict[str, Callable[[], Awaitable[None]]] = {
            "status": self._status,
            "workers": self._workers,
            "orders": self._orders,
            "results": self._results,
            "alarms": self._alarms,
            "calibration": self._calibration,
            "overrides": self._overrides,
            "config": self._config,
        }

    # ------------------------------------------------------------------ control

    def request(self, *areas: str) -> None:
        """Fetch these areas at the next tick (after an action, or a screen opening)."""
        unknown = set(areas) - set(self._fetchers)
        if unknown:
            raise ValueError(f"unknown areas: {sorted(unknown)}")
        self._dirty.update(areas)
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and follow until ``stop`` is set or the credentials are refused.

        Both loops end together: whichever ends first (sign-out, an error) sets
        ``halt`` for the other; an unexpected error is logged, never lost.
        """
        halt = asyncio.Event()

        async def relay_stop() -> None:
            await stop.wait()
            halt.set()

        async def until_halt(loop: Awaitable[None]) -> None:
            try:
                await loop
            finally:
                halt.set()

        relay = asyncio.ensure_future(relay_stop())
        try:
            outcomes = await asyncio.gather(
                until_halt(self._poll(halt)),
                until_halt(live.follow(self.client, self._on_message, self._on_live_state, halt)),
                return_exceptions=True,
            )
        finally:
            relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                log.error("console loop failed: %r", outcome)

    # ------------------------------------------------------------------ loops

    async def _poll(self, halt: asyncio.Event) -> None:
        while not halt.is_set():
            now = self._clock()
            due = {
                a for a, every in self._intervals.items() if every and self._due.get(a, 0) <= now
            }
            areas = (due | self._dirty) & set(self._fetchers)
            self._dirty.clear()
            changed: set[str] = set()
            for area in sorted(areas, key=list(self._fetchers).index):
                every = self._intervals.get(area)
                if every:
                    self._due[area] = now + every
                if await self._fetch(area):
                    changed.add(area)
                if self.signed_out:
                    self._notify({"session"})
                    return
            if areas:
                self._notify(changed | {"health"})
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S)

    async def _fetch(self, area: str) -> bool:
        try:
            await self._fetchers[area]()
        except ApiError as error:
            if error.unauthenticated:
                self.signed_out = True
            self.state.rest.failed(error.message)
            log.info("fetching %s failed: %s", area, error.message)
            return False
        if area == "status":
            self.state.rest.ok(self._clock())
        return True

    def _on_message(self, message: LiveMessage) -> None:
        dirty = self.state.apply(message, self._clock())
        if dirty:
            self._dirty.update(dirty)
            self._wake.set()
        self._notify({"live", *_immediate(message.type)})

    def _on_live_state(self, state: str) -> None:
        self.state.live = state
        if state == "unauthenticated":
            self.signed_out = True
            self._notify({"health", "session"})
            return
        self._notify({"health"})

    def _notify(self, areas: set[str]) -> None:
        try:
            self._on_change(areas)
        except Exception:  # a view failing must not stop the data loops
            log.exception("the console view failed to update %s", sorted(areas))

    # ------------------------------------------------------------------ fetchers

    async def _status(self) -> None:
        self.state.status = await self.client.status()

    async def _workers(self) -> None:
        self.state.workers = await self.client.workers()

    async def _orders(self) -> None:
        self.state.set_orders(await self.client.orders())

    async def _results(self) -> None:
        self.state.set_results(await self.client.results())

    async def _alarms(self) -> None:
        self.state.set_alarms(await self.client.alarms())

    async def _calibration(self) -> None:
        self.state.calibration = await self.client.calibration()

    async def _overrides(self) -> None:
        self.state.overrides = await self.client.overrides()

    async def _config(self) -> None:
        self.state.config = await self.client.config()


def _immediate(kind: str) -> set[str]:
    """Areas a live message changes at once in the state (before any refetch)."""
    return {
        "decision": {"orders"},
        "order_state": {"orders"},
        "result": {"orders"},
        "alarm": {"alarms"},
        "metrics": {"status"},
        "hello": {"status"},
    }.get(kind, set())
