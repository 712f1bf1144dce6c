"""TradeLog: the orders of one run and how they ended, as columns.

Both paths produce one: the event-driven backtest reads it back from storage (orders
and results of the run), the research path builds it from its arrays. The summary, the
report and the parity tests all work on this one shape.

Outcomes are codes into :data:`OUTCOMES` -- ``win``, ``lose``, ``push``, ``abort``, and
``open`` (decided and sent, but the contract could not be settled before the history
ended); :attr:`TradeLog.outcome` gives the names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.orders import Direction
from moonlight.core.storage import models

FloatArray = npt.NDArray[np.float64]
OUTCOMES: tuple[str, ...] = ("win", "lose", "push", "abort", "open")
WIN, LOSE, PUSH, ABORT, OPEN = range(5)
_CODE = {name: code for code, name in enumerate(OUTCOMES)}
#: Columns of :meth:`TradeLog.rows`, in order.
COLUMNS: tuple[str, ...] = (
    "client_req_id",
    "instrument",
    "timeframe",
    "direction",
    "decided_ts",
    "stake",
    "payout_pct",
    "score",
    "p_hat",
    "outcome",
    "pnl",
    "entry_price",
    "exit_price",
    "settled_ts",
)


class OrderIds(Sequence[str]):
    """``client_req_id`` values ``prefix + str(int(close_ts))``, built on access."""

    def __init__(self, prefix: str, close_ts: FloatArray) -> None:
        self.prefix = prefix
        self.close_ts = close_ts

    def __len__(self) -> int:
        return int(self.close_ts.shape[0])

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self.prefix + str(int(t)) for t in self.close_ts[index].tolist()]
        return self.prefix + str(int(self.close_ts[index]))

    def __iter__(self) -> Iterator[str]:
        return (self.prefix + str(int(t)) for t in self.close_ts.tolist())


@dataclass(frozen=True, eq=False)
class TradeLog:
    """One row per order, in decision order (ties: by client_req_id)."""

    client_req_id: Sequence[str]
    instrument: Sequence[str]
    timeframe: Sequence[str]
    #: +1 up, -1 down.
    direction: npt.NDArray[np.int8]
    decided_ts: FloatArray
    stake: FloatArray
    payout_pct: FloatArray
    score: FloatArray
    p_hat: FloatArray
    #: Index into :data:`OUTCOMES`.
    outcome_code: npt.NDArray[np.int8]
    pnl: FloatArray
    entry_price: FloatArray
    exit_price: FloatArray
    settled_ts: FloatArray

    def __len__(self) -> int:
        return int(self.direction.shape[0])

    @property
    def outcome(self) -> list[str]:
        """Outcome names, one per order."""
        return [OUTCOMES[c] for c in self.outcome_code.tolist()]

    def mask(self, outcome: str) -> npt.NDArray[np.bool_]:
        """Rows with this outcome."""
        return np.asarray(self.outcome_code == _CODE[outcome])

    @property
    def settled(self) -> npt.NDArray[np.bool_]:
        """Rows with a result (win, lose, push or abort)."""
        return np.asarray(self.outcome_code != OPEN)

    @property
    def decided(self) -> npt.NDArray[np.bool_]:
        """Rows that won or lost."""
        return np.asarray(self.outcome_code <= LOSE)

    @classmethod
    def empty(cls) -> TradeLog:
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]]) -> TradeLog:
        """From dicts with the :data:`COLUMNS` (missing numbers become NaN)."""
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
            outcome_code=np.array([_CODE[str(r["outcome"])] for r in ordered], np.int8),
            pnl=numbers("pnl"),
            entry_price=numbers("entry_price"),
            exit_price=numbers("exit_price"),
            settled_ts=numbers("settled_ts"),
        )

    @classmethod
    def concat(cls, logs: Sequence[TradeLog]) -> TradeLog:
        """Several logs as one, re-ordered by decision time."""
        return cls.from_rows([row for log in logs for row in log.rows()])

    def rows(self) -> list[dict[str, Any]]:
        """One dict per order (for JSON and pandas)."""
        columns: list[Sequence[Any]] = [
            list(self.client_req_id),
            list(self.instrument),
            list(self.timeframe),
            self.direction.tolist(),
            self.decided_ts.tolist(),
            self.stake.tolist(),
            self.payout_pct.tolist(),
            self.score.tolist(),
            self.p_hat.tolist(),
            self.outcome,
            self.pnl.tolist(),
            self.entry_price.tolist(),
            self.exit_price.tolist(),
            self.settled_ts.tolist(),
        ]
        return [dict(zip(COLUMNS, values, strict=True)) for values in zip(*columns, strict=True)]


def load_trades(sessions: sessionmaker[Session], run_id: str) -> TradeLog:
    """The orders of ``run_id`` with their results, from storage (a backtest's
    ``<run id>/`` id prefix taken off)."""
    prefix = f"{run_id}/"
    statement = (
        select(models.Order, models.Result)
        .outerjoin(models.Result, models.Result.order_id == models.Order.id)
        .where(models.Order.run_id == run_id)
    )
    rows = []
    with sessions() as session:
        for order, result in session.execute(statement):
            rows.append(
                {
                    "client_req_id": order.client_req_id.removeprefix(prefix),
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
