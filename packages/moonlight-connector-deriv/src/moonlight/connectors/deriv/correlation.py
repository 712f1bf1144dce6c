"""Which Deriv contract belongs to which MoonLight order (``client_req_id``).

Deriv has no client order id: a ``buy`` cannot carry one that the server stores. The
connector correlates in three ways, strongest first:

1. **The buy reply.** ``buy`` is sent with ``passthrough: {client_req_id}``, which the
   server echoes in ``echo_req`` -- so even a reply that arrives after its request timed
   out (out of order, on the same socket) binds the contract to the right order.
2. **This book.** Every binding is remembered (bounded memory) for status, settlement
   and ``find_order``.
3. **Matching** after an ambiguous send (or a restart): among the account's open
   (``portfolio``) and recently closed (``profit_table``) contracts, the earliest one
   *not bound to another order* with the same symbol, direction (contract type), stake
   (buy price), duration, bought within ``[decision - clock_margin_s, decision +
   match_window_s]``.

Matching is only unambiguous if two unresolved orders can never share that signature,
so :meth:`Correlation.reserve` holds the signature *atomically* (one synchronous step,
no ``await`` between the check and the hold) from before the order is priced until its
buy is answered: a second identical order sent meanwhile -- even 2 ms later -- is
refused with :class:`IdenticalOrderPending` instead of racing the first to the wire.
An order whose send was ambiguous keeps holding it until resolved (or its window has
passed), and is never sent again under the same id. Symbols are compared through
:func:`~moonlight.connectors.deriv.symbols.symbol_key` (a shortcode writes them
upper-case).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from moonlight.connectors.deriv.codec import ContractView
from moonlight.connectors.deriv.symbols import same_symbol
from moonlight.core.connectors.contract import OrderRequest, Transient

MAX_ENTRIES = 100_000
#: Deriv prices in cents: a stake matches a buy price within half a cent.
STAKE_TOLERANCE = 0.005 + 1e-9
DURATION_TOLERANCE_S = 1


class IdenticalOrderPending(Transient):
    """An identical order holds the signature; this one waits (nothing was sent)."""


@dataclass(slots=True)
class _Unresolved:
    request: OrderRequest
    sent_ts: float
    written: bool = False
    """False while only reserved (being priced); True once the buy may have been written."""


class Correlation:
    """The connector's order ↔ contract book; see the module docstring."""

    def __init__(self, *, match_window_s: float, clock_margin_s: float) -> None:
        self.match_window_s = match_window_s
        self.clock_margin_s = clock_margin_s
        self._by_client: OrderedDict[str, str] = OrderedDict()
        self._by_contract: OrderedDict[str, str] = OrderedDict()
        self._accounts: OrderedDict[str, str] = OrderedDict()
        self._unresolved: dict[str, _Unresolved] = {}

    # -- bindings ---------------------------------------------------------------------

    def bind(self, client_req_id: str, contract_id: str, account_id: str | None = None) -> None:
        """Record that ``contract_id`` was opened for ``client_req_id``."""
        self._by_client[client_req_id] = contract_id
        self._by_contract[contract_id] = client_req_id
        if account_id is not None:
            self._accounts[client_req_id] = account_id
        self._unresolved.pop(client_req_id, None)
        for book in (self._by_client, self._by_contract, self._accounts):
            while len(book) > MAX_ENTRIES:
                book.popitem(last=False)

    def contract_of(self, client_req_id: str) -> str | None:
        return self._by_client.get(client_req_id)

    def client_of(self, contract_id: str) -> str | None:
        return self._by_contract.get(contract_id)

    def account_of(self, client_req_id: str | None) -> str | None:
        return None if client_req_id is None else self._accounts.get(client_req_id)

    # -- sends whose outcome is unknown -----------------------------------------------

    def reserve(self, request: OrderRequest, now_ts: float) -> None:
        """Hold ``request``'s signature, or raise :class:`IdenticalOrderPending`.

        Check and hold are one synchronous step, so two concurrent identical orders can
        never both pass. Released by :meth:`release_unwritten` (or :meth:`bind`).
        """
        cid = request.client_req_id
        if cid in self._unresolved:
            raise IdenticalOrderPending(f"deriv: {cid} is already being sent")
        other = self.blocking(request)
        if other is not None:
            raise IdenticalOrderPending(
                f"deriv: identical order {other} is unresolved; {cid} waits so the two"
                " cannot be confused"
            )
        self._unresolved[cid] = _Unresolved(request, now_ts)
        self._accounts[cid] = request.account_id

    def sending(self, request: OrderRequest, now_ts: float) -> None:
        """A buy for ``request`` is about to be written: unresolved until answered."""
        self._unresolved[request.client_req_id] = _Unresolved(request, now_ts, written=True)
        self._accounts[request.client_req_id] = request.account_id

    def hold(self, request: OrderRequest) -> None:
        """Treat ``request`` as unresolved (sent at its decision time) unless known.

        A new process learns of an ambiguous send only when the executor asks for it:
        from then on it blocks identical orders like any unresolved send, so an order
        sent after a restart can never be matched to the earlier one's lookup.
        """
        cid = request.client_req_id
        if cid not in self._by_client and not self.is_unresolved(cid):
            self.sending(request, request.created_ts)

    def not_sent(self, client_req_id: str) -> None:
        """The buy definitely did not open a contract (refused, or never written).

        The signature stays reserved (unwritten) until :meth:`release_unwritten`: a
        re-quote after ``PriceMoved`` must not let an identical order in meanwhile.
        """
        entry = self._unresolved.get(client_req_id)
        if entry is not None:
            entry.written = False

    def release_unwritten(self, client_req_id: str) -> None:
        """Drop a reservation whose buy was never written (an ambiguous one stays)."""
        entry = self._unresolved.get(client_req_id)
        if entry is not None and not entry.written:
            del self._unresolved[client_req_id]

    def is_unresolved(self, client_req_id: str) -> bool:
        """Whether a buy for ``client_req_id`` may have been written and is unanswered."""
        entry = self._unresolved.get(client_req_id)
        return entry is not None and entry.written

    def unresolved(self) -> list[OrderRequest]:
        """The requests whose buy may have been written and is unanswered."""
        return [entry.request for entry in self._unresolved.values() if entry.written]

    def expire(self, now_ts: float) -> None:
        """Forget unresolved sends older than the match window (they can no longer match)."""
        horizon = self.match_window_s + self.clock_margin_s
        for client_req_id, entry in list(self._unresolved.items()):
            if now_ts - entry.sent_ts > horizon:
                del self._unresolved[client_req_id]

    def blocking(self, request: OrderRequest) -> str | None:
        """The client_req_id of an unresolved send with the same signature, if any."""
        for entry in self._unresolved.values():
            other = entry.request
            if other.client_req_id != request.client_req_id and _same_signature(other, request):
                return other.client_req_id
        return None

    # -- matching ---------------------------------------------------------------------

    def match(
        self, request: OrderRequest, contracts: Iterable[ContractView]
    ) -> ContractView | None:
        """The contract ``request`` opened, by signature (see the module docstring)."""
        bound = self.contract_of(request.client_req_id)
        earliest = request.created_ts - self.clock_margin_s
        latest = request.created_ts + self.match_window_s
        candidates = sorted(
            (c for c in contracts if c.contract_id == bound or self._fits(request, c)),
            key=lambda c: (c.contract_id != bound, c.start_ts, c.contract_id),
        )
        for contract in candidates:
            if contract.contract_id == bound:
                return contract
            if earliest <= contract.start_ts <= latest:
                return contract
        return None

    def _fits(self, request: OrderRequest, contract: ContractView) -> bool:
        owner = self.client_of(contract.contract_id)
        if owner is not None and owner != request.client_req_id:
            return False
        return (
            same_symbol(contract.symbol, request.instrument)
            and contract.direction is request.direction
            and abs(contract.buy_price - request.stake) <= STAKE_TOLERANCE
            and abs(contract.duration_s - request.duration_s) <= DURATION_TOLERANCE_S
        )


def _same_signature(a: OrderRequest, b: OrderRequest) -> bool:
    return (
        a.account_id == b.account_id
        and same_symbol(a.instrument, b.instrument)
        and a.direction is b.direction
        and abs(a.stake - b.stake) <= STAKE_TOLERANCE
        and a.duration_s == b.duration_s
    )
