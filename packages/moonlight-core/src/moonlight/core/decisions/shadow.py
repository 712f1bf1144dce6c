"""Shadow outcomes: where the price ended at a decision's expiry, traded or not.

A decision taken at the close of a bar enters at that bar's close and expires
``duration_s`` later. Its shadow outcome uses the paper broker's bar-close rule
(:mod:`moonlight.core.backtest.feed`): the exit price is the close of the bar that ends
at the expiry instant. The outcome is ``up``, ``down`` or ``push`` (exit equal to entry).

:class:`ShadowLedger` keeps the open shadows of one (account, instrument, timeframe)
and resolves them from the bars the worker sees, in order. A shadow whose expiry bar
was never seen (a data gap, a missed bar, an expiry that is not a multiple of the
timeframe) resolves as ``None`` -- unknown -- rather than guessing a price: it is stored,
but neither calibration nor any figure counts it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

UP = "up"
DOWN = "down"
PUSH = "push"


def outcome_of(entry: float, exit_price: float) -> str:
    """``up``, ``down`` or ``push`` for a move from ``entry`` to ``exit_price``."""
    if exit_price > entry:
        return UP
    if exit_price < entry:
        return DOWN
    return PUSH


@dataclass(slots=True)
class Shadow:
    """One decision waiting for its expiry; ``row`` is what storage will keep."""

    expires_ts: float
    decided_ts: float
    score: float
    entry: float
    row: dict[str, Any] = field(default_factory=dict)
    exit_price: float | None = None
    outcome: str | None = None


class ShadowLedger:
    """Open shadows of one worker key, resolved bar by bar (see the module docstring)."""

    def __init__(self) -> None:
        self._open: deque[Shadow] = deque()

    def __len__(self) -> int:
        return len(self._open)

    def open(self, shadow: Shadow) -> None:
        """Add a decision; expiries must not decrease (decisions come in bar order)."""
        if self._open and shadow.expires_ts < self._open[-1].expires_ts:
            raise ValueError("shadows must be opened in expiry order")
        self._open.append(shadow)

    def on_bar(self, end_ts: float, close: float) -> list[Shadow]:
        """Resolve every shadow that expired at or before the bar ending at ``end_ts``."""
        resolved: list[Shadow] = []
        while self._open and self._open[0].expires_ts <= end_ts:
            shadow = self._open.popleft()
            if shadow.expires_ts == end_ts:
                shadow.exit_price = close
                shadow.outcome = outcome_of(shadow.entry, close)
            resolved.append(shadow)
        return resolved

    def drain(self) -> list[Shadow]:
        """Every shadow still open (the run ends before they expire): unresolved."""
        rest = list(self._open)
        self._open.clear()
        return rest
