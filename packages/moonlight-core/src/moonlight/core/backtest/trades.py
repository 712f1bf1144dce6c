"""TradeLog: the orders of one run and how they ended, as columns.

Both paths produce one: the event-driven backtest reads it back from storage (orders
and results of the run), the research path builds it from its arrays. The summary, the
report and the parity tests all work on this one shape.

``outcome`` is ``win``, ``lose``, ``push``, ``abort`` or ``open`` (decided and sent, but
the contract could not be settled before the history ended).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.orders import Direction
from moonlight.core.storage import models

FloatArray = npt.NDArray[np.float64]
OUTCOMES: tuple[str, ...] = ("win", "lose", "push", "abort", "open")


@dataclass(frozen=True, eq=False)
class TradeLog:
    """One row per order, in decision order (ties: by client_req_id)."""

    client_req_id: list[str]
    instrument: list[str]
    timeframe: list[str]
    #: +1 up, -1 down.
    direction: npt.NDArray[np.int8]
    decided_ts: FloatArray
    stake: FloatArray
    payout_pct: FloatArray
    score: FloatArray
    p_hat: FloatArray
    outcome: list[str]
    pnl: FloatArray
    entry_price: FloatArray
    exit_price: FloatArray
    settled_ts: FloatArray

    def __len__(self) -> int:
        return len(self.client_req_id)

    @classmethod
    def empty(cls) -> TradeLog:
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]]) -> TradeLog:
        """From dicts with the field names (missing numbers become NaN)."""
        ordered = sorted(rows, key=lambda r: (r["decided_ts"], r["client_req_id"]))

        def numbers(name: str) -> FloatArray:
            values = [r.get(name) for r in ordered]
            return np.array([np.nan if v is None else float(v) for v in values], np.float64)

        return cls(
            client_req_id=[str(r["client_req_id"]) for r in ordered],
            instrument=[str(r["instrument"]) for r in ordered],
            timeframe=[str(r["timeframe"]) for r in ordered],
            direction=np.array([int(r["direction"]) for r in ordered], np.int8),
            decided_ts=numbers("decided_ts"),
            stake=numbers("stake"),
            payout_pct=numbers("payout_pct"),
            score=numbers("score"),
            p_hat=numbers("p_hat"),
            outcome=[str(r["outcome"]) for r in ordered],
            pnl=numbers("pnl"),
            entry_price=numbers("entry_price"),
            exit_price=numbers("exit_price"),
            settled_ts=numbers("settled_ts"),
        )

    @classmethod
    def from_arrays(cls, **columns: Any) -> TradeLog:
        """From columns already in decision order (no copy of numpy columns)."""
        return cls(
            client_req_id=list(columns["client_req_id"]),
            instrument=list(columns["instrument"]),
            timeframe=list(columns["timeframe"]),
            direction=np.asarray(columns["direction"], np.int8),
            decided_ts=np.asarray(columns["decided_ts"], np.float64),
            stake=np.asarray(columns["stake"], np.float64),
            payout_pct=np.asarray(columns["payout_pct"], np.float64),
            score=np.asarray(columns["score"], np.float64),
            p_hat=np.asarray(columns["p_hat"], np.float64),
            outcome=list(columns["outcome"]),
            pnl=np.asarray(columns["pnl"], np.float64),
            entry_price=np.asarray(columns["entry_price"], np.float64),
            exit_price=np.asarray(columns["exit_price"], np.float64),
            settled_ts=np.asarray(columns["settled_ts"], np.float64),
        )

    def rows(self) -> list[dict[str, Any]]:
        """One dict per order (for JSON and pandas)."""
        names = [f.name for f in fields(self)]
        columns = [getattr(self, name) for name in names]
        out = []
        for i in range(len(self)):
            row: dict[str, Any] = {}
            for name, column in zip(names, columns, strict=True):
                value = column[i]
                row[name] = value.item() if isinstance(value, np.generic) else value
            out.append(row)
        return out

    def mask(self, outcome: str) -> npt.NDArray[np.bool_]:
        """Rows with this outcome."""
        return np.array([o == outcome for o in self.outcome], dtype=bool)


def load_trades(sessions: sessionmaker[Session], run_id: str) -> TradeLog:
    """The orders of ``run_id`` with their results, from storage."""
    statement = (
        select(models.Order, models.Result)
        .outerjoin(models.Result, models.Result.order_id == models.Order.id)
        .where(models.Order.run_id == run_id)
    )
    rows = []
    with sessions() as session:
        for order, result in session.execute(statement).tuples():
            rows.append(
                {
                    "client_req_id": order.client_req_id,
                    "instrument": order.instrument,
                    "timeframe": order.timeframe,
                    "direction": 1 if order.direction == Direction.UP else -1,
                    "decided_ts": order.created_at.timestamp(),
                    "stake": order.stake,
                    "payout_pct": order.payout_pct,
                    "score": order.score,
                    "p_hat": order.p_hat,
                    "outcome": "open" if result is None else str(result.outcome.value),
                    "pnl": None if result is None else result.pnl,
                    "entry_price": None if result is None else result.entry_price,
                    "exit_price": None if result is None else result.exit_price,
                    "settled_ts": None if result is None else result.settled_at.timestamp(),
                }
            )
    return TradeLog.from_rows(rows)
