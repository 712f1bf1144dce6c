"""Connections: a cap below the descriptor limit, a deadline for every request head.

An idle TCP connection costs the server a file descriptor and nothing else, so a client
that opens thousands and says nothing exhausts the process's descriptors: the API, the
kill switch and — since storage and broker sockets need descriptors too — trading
stop. uvicorn has no cap of its own and no deadline for a request head, hence:

* **a cap** — :func:`connection_cap`: ``max_connections``, lowered to the soft
  ``RLIMIT_NOFILE`` minus ``fd_reserve`` (descriptors kept for storage, brokers, logs)
  minus the accept burst, so the API can never take the last descriptors. POSIX only:
  Windows has no per-process descriptor limit and keeps ``max_connections``.
* **eviction, not refusal** — at the cap a new connection closes the *oldest idle* one
  (no request in progress: never sent one, or waiting between keep-alive requests).
  Idle connections therefore cannot lock anyone out: the operator's kill-switch request
  always finds room while an attacker merely holds sockets. Only when every connection
  is busy with a request is the newcomer refused with a 503.
* **a head deadline** — a connection that has not sent a complete request head within
  ``header_timeout_s`` of being accepted (or of its previous response) is closed: no
  slow-loris. Bodies have their own deadline (:mod:`moonlight.server.body_limit`), and
  idle keep-alive connections uvicorn's ``timeout_keep_alive``.

:class:`GatedH11Protocol` is uvicorn's h11 protocol with these rules; a WebSocket
upgrade keeps its place in the budget until the socket closes.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import OrderedDict
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("moonlight.server.connections")

_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: 39\r\n\r\n"
    b'{"detail":"too many open connections"}\n'
)


def descriptor_limit() -> int | None:
    """The soft limit on open file descriptors; None where there is none (Windows)."""
    if sys.platform == "win32":
        return None
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def connection_cap(
    max_connections: int, *, fd_reserve: int, backlog: int, limit: int | None
) -> int:
    """Connections the API may hold: ``max_connections`` within the descriptor budget."""
    if limit is None:
        return max_connections
    return max(1, min(max_connections, limit - fd_reserve - backlog))


class ConnectionBudget:
    """The open connections of one server, oldest first; lives on the server's loop."""

    def __init__(self, cap: int, *, header_timeout_s: float) -> None:
        self.cap = cap
        self.header_timeout_s = header_timeout_s
        self.open: OrderedDict[asyncio.BaseTransport, GatedH11Protocol] = OrderedDict()
        self.evicted = 0
        self.refused = 0
        self.timed_out = 0

    def admit(self, transport: asyncio.BaseTransport, protocol: GatedH11Protocol) -> bool:
        """Make room for a new connection (evicting the oldest idle one) or refuse it."""
        if len(self.open) >= self.cap:
            self._forget_closed()
        if len(self.open) >= self.cap:
            victim = next((t for t, p in self.open.items() if p.idle(t)), None)
            if victim is None:
                self.refused += 1
                if self.refused == 1 or self.refused % 1000 == 0:
                    log.warning(
                        "connection cap %d reached with every connection busy: refused %d",
                        self.cap, self.refused,
                    )  # fmt: skip
                return False
            self.evicted += 1
            self.open.pop(victim)
            victim.close()
        self.open[transport] = protocol
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        self.open.pop(transport, None)

    def _forget_closed(self) -> None:
        """Drop sockets closed while another protocol owned them (WebSockets)."""
        for transport in [t for t in self.open if t.is_closing()]:
            del self.open[transport]


class GatedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol under a :class:`ConnectionBudget` (see the module)."""

    budget: ConnectionBudget

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if not self.budget.admit(transport, self):
            transport.write(_REFUSAL)
            transport.close()
            return
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        if self.transport is not None:
            self.budget.release(self.transport)
            super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_deadline()

    def idle(self, transport: asyncio.BaseTransport) -> bool:
        """True while no request is in progress (and the socket was not upgraded)."""
        if transport.get_protocol() is not self:
            return False  # a WebSocket now: busy until it closes
        return self.cycle is None or self.cycle.response_complete

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(
            self.budget.header_timeout_s, self._head_too_slow
        )

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        transport = self.transport
        if transport is None or transport.is_closing() or not self.idle(transport):
            return
        self.budget.timed_out += 1
        transport.close()


def gated_protocol(budget: ConnectionBudget) -> type[GatedH11Protocol]:
    """A protocol class bound to ``budget`` (uvicorn instantiates it per connection)."""
    return type("BoundGatedH11Protocol", (GatedH11Protocol,), {"budget": budget})
