"""The instruments an account trades: payouts and limits, refreshed from the connector.

Payouts change during the day, so the book refreshes at most every ``max_age_s`` and
keeps the last good copy when a refresh fails (a decision then uses a payout at most
``max_age_s`` old, or none at all if it never loaded -- risk refuses without a payout).
"""

from __future__ import annotations

import logging

from moonlight.core.connectors.contract import Connector, ConnectorError, Instrument
from moonlight.core.runtime.clock import Clock

log = logging.getLogger("moonlight.instruments")


class InstrumentBook:
    """Cached :class:`Instrument` records of one connector."""

    def __init__(self, connector: Connector, clock: Clock, *, max_age_s: float = 60.0) -> None:
        self.connector = connector
        self.clock = clock
        self.max_age_s = max_age_s
        self.fetched_at = float("-inf")
        self._by_symbol: dict[str, Instrument] = {}

    def get(self, symbol: str) -> Instrument | None:
        """The cached record, or None when the connector never reported it."""
        return self._by_symbol.get(symbol)

    def all(self) -> list[Instrument]:
        return list(self._by_symbol.values())

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload when stale (or forced); False when the connector failed."""
        if not force and self.clock.now() - self.fetched_at < self.max_age_s:
            return True
        try:
            instruments = await self.connector.instruments()
        except ConnectorError as error:
            log.warning("instrument refresh failed, keeping the last copy: %r", error)
            return False
        self._by_symbol = {i.symbol: i for i in instruments}
        self.fetched_at = self.clock.now()
        return True
