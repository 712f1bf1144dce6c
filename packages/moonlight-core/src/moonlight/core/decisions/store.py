"""Decisions read back from storage: what the verdict and the report need of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.decisions.shadow import DOWN, UP
from moonlight.core.decisions.sink import TRADED
from moonlight.core.storage import models

_SIGN = {"up": 1, "down": -1}
_MOVE = {UP: 1, DOWN: -1}


@dataclass(frozen=True, slots=True)
class DecisionOutcomes:
    """Every decision of a run, in decision order: p̂, direction (+1/-1/0), shadow
    outcome (+1 up, -1 down, 0 push or unknown), whether it was traded, and the order ids
    of the trades made on the exploration prior."""

    p_hat: npt.NDArray[np.float64]
    direction: npt.NDArray[np.int8]
    moved: npt.NDArray[np.int8]
    traded: npt.NDArray[np.bool_]
    exploration_ids: frozenset[str] = frozenset()

    @classmethod
    def empty(cls) -> DecisionOutcomes:
        """No decision."""
        return cls.concat([])

    @classmethod
    def concat(cls, parts: Sequence[DecisionOutcomes]) -> DecisionOutcomes:
        """All decisions of ``parts``, in order."""
        return cls(
            np.concatenate([np.zeros(0), *(p.p_hat for p in parts)]),
            np.concatenate([np.zeros(0, np.int8), *(p.direction for p in parts)]),
            np.concatenate([np.zeros(0, np.int8), *(p.moved for p in parts)]),
            np.concatenate([np.zeros(0, bool), *(p.traded for p in parts)]),
            frozenset().union(*(p.exploration_ids for p in parts)),
        )


def load_decisions(sessions: sessionmaker[Session], run_id: str | None) -> DecisionOutcomes:
    """The decisions stored under ``run_id`` (None: those without a run)."""
    table = models.Decision
    statement = select(
        table.p_hat,
        table.direction,
        table.outcome,
        table.action,
        table.exploration,
        table.client_req_id,
    ).order_by(table.decided_at, table.id)
    statement = statement.where(
        table.run_id.is_(None) if run_id is None else table.run_id == run_id
    )
    with sessions() as session:
        rows = session.execute(statement).all()
    return DecisionOutcomes(
        np.array([r.p_hat for r in rows], np.float64),
        np.array([_SIGN.get(r.direction, 0) for r in rows], np.int8),
        np.array([_MOVE.get(r.outcome or "", 0) for r in rows], np.int8),
        np.array([r.action == TRADED for r in rows], bool),
        frozenset(r.client_req_id for r in rows if r.exploration and r.client_req_id),
    )
