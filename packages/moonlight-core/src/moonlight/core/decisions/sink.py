"""DecisionSink: every decision recorded, its shadow outcome learned from, both stored.

The engine owns one sink; each account's trader calls :meth:`DecisionSink.observe` with
the bar that just closed (shadows expiring on it resolve, and their outcomes go to the
:class:`~moonlight.core.ensemble.online.OnlineCalibrator`), asks
:meth:`DecisionSink.calibration` for the fit in force, and calls
:meth:`DecisionSink.record` once per decision -- traded, refused by risk, below
threshold or without a direction. So p̂ is learned from every decision without staking
anything, in paper, demo, live and backtest alike, and a decision's p̂ only uses
outcomes known before it.

Two accounts on the same (instrument, timeframe) see the same bars and the same S: the
calibrator gets each (instrument, timeframe, bar) outcome once.

Rows go to the ``decisions`` table when their shadow resolves (or when the sink closes,
unresolved), and every refit to ``calibrations`` with the run id; writes are batched
(``batch`` rows; 1 in live trading, larger in a backtest) and flushed on close.

Storage trouble never reaches the decision path: a write that fails keeps its rows for
the next flush (up to :data:`MAX_PENDING` rows; older ones beyond that are dropped and
counted in the log), so a full disk halts trading through the executor, not by crashing
every worker on its bookkeeping.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.decisions.shadow import DOWN, UP, Shadow, ShadowLedger
from moonlight.core.ensemble.ensemble import EnsembleDecision
from moonlight.core.ensemble.online import OnlineCalibrator
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.ensemble.store import calibration_row
from moonlight.core.storage import models

log = logging.getLogger("moonlight.decisions")

#: What a decision led to (``decisions.action``).
TRADED = "traded"
REFUSED = "refused"
BELOW_THRESHOLD = "below_threshold"
NO_DIRECTION = "no_direction"
NOT_SENT = "not_sent"

WorkerKey3 = tuple[str, str, str]

#: Decision rows kept while storage refuses writes (about 1 KiB each).
MAX_PENDING = 50_000


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class DecisionSink:
    """Shadow outcomes → walk-forward calibration, and decision rows → storage."""

    def __init__(
        self,
        calibrator: OnlineCalibrator,
        sessions: sessionmaker[Session] | None,
        *,
        run_id: str | None = None,
        batch: int = 1,
    ) -> None:
        self.calibrator = calibrator
        self.sessions = sessions
        self.run_id = run_id
        self.batch = max(1, batch)
        self.recorded = 0
        self._ledgers: dict[WorkerKey3, ShadowLedger] = {}
        self._learned_until: dict[tuple[str, str], float] = {}
        self._rows: list[dict[str, Any]] = []
        self._fits: list[Calibration] = []
        self._failing = False
        self.dropped = 0
        calibrator.on_fit = self._fit_made

    def calibration(self, instrument: str, timeframe: str) -> Calibration:
        """The calibration in force for a worker now."""
        return self.calibrator.lookup(instrument, timeframe)

    def observe(
        self, account_id: str, instrument: str, timeframe: str, end_ts: float, close: float
    ) -> None:
        """A bar of a worker closed: resolve its shadows and learn from their outcomes."""
        ledger = self._ledgers.get((account_id, instrument, timeframe))
        if ledger is None:
            return
        for shadow in ledger.on_bar(end_ts, close):
            self._resolved(instrument, timeframe, shadow)
        self._flush_if_due()

    def _resolved(self, instrument: str, timeframe: str, shadow: Shadow) -> None:
        if shadow.outcome in (UP, DOWN):
            key = (instrument, timeframe)
            if shadow.decided_ts > self._learned_until.get(key, float("-inf")):
                self._learned_until[key] = shadow.decided_ts
                self.calibrator.add(
                    instrument,
                    timeframe,
                    shadow.expires_ts,
                    shadow.score,
                    1 if shadow.outcome == UP else 0,
                )
        self._rows.append(
            {**shadow.row, "exit_price": shadow.exit_price, "outcome": shadow.outcome}
        )

    def record(
        self,
        *,
        account_id: str,
        instrument: str,
        timeframe: str,
        decided_ts: float,
        duration_s: float,
        entry_price: float,
        decision: EnsembleDecision,
        action: str,
        reason: str | None = None,
        payout_pct: float | None = None,
        client_req_id: str | None = None,
        exploration: bool = False,
        signals: Mapping[str, Any] | None = None,
        features: Mapping[str, Any] | None = None,
    ) -> None:
        """One decision at the close of a bar (``decided_ts``), whatever it led to."""
        key = (account_id, instrument, timeframe)
        ledger = self._ledgers.get(key)
        if ledger is None:
            ledger = self._ledgers[key] = ShadowLedger()
        expires_ts = decided_ts + duration_s
        row = {
            "run_id": self.run_id,
            "account_id": account_id,
            "instrument": instrument,
            "timeframe": timeframe,
            "decided_at": _utc(decided_ts),
            "expires_at": _utc(expires_ts),
            "score": decision.score,
            "confidence": decision.confidence,
            "direction": decision.direction.value,
            "p_hat": decision.p_hat,
            "calibrated": decision.calibrated,
            "exploration": exploration,
            "action": action,
            "reason": reason,
            "payout_pct": payout_pct,
            "client_req_id": client_req_id,
            "signals": dict(signals or {}),
            "features": dict(features or {}),
            "entry_price": entry_price,
        }
        ledger.open(Shadow(expires_ts, decided_ts, decision.score, entry_price, row))
        self.recorded += 1

    def _fit_made(self, fit: Calibration) -> None:
        self._fits.append(fit)

    def _flush_if_due(self) -> None:
        if len(self._rows) + len(self._fits) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write the resolved decisions and new fits collected so far; on a storage error
        keep them for the next flush (see the module docstring) and return."""
        if self.sessions is None:
            self._rows, self._fits = [], []
            return
        if not (self._rows or self._fits):
            return
        try:
            with self.sessions.begin() as session:
                if self._rows:  # render_nulls: one executemany, not one per None pattern
                    session.execute(
                        insert(models.Decision).execution_options(render_nulls=True), self._rows
                    )
                session.add_all(calibration_row(fit, run_id=self.run_id) for fit in self._fits)
        except SQLAlchemyError as error:
            if not self._failing:
                log.warning("decision records kept in memory until storage is back: %s", error)
            self._failing = True
            self._trim()
            return
        if self._failing:
            log.info("decision records written again (%d dropped meanwhile)", self.dropped)
        self._failing = False
        self._rows, self._fits = [], []

    def _trim(self) -> None:
        excess = len(self._rows) - MAX_PENDING
        if excess > 0:
            del self._rows[:excess]
            self.dropped += excess

    def close(self) -> None:
        """Store every decision still waiting for its expiry (unresolved), then flush."""
        for ledger in self._ledgers.values():
            for shadow in ledger.drain():
                self._rows.append({**shadow.row, "exit_price": None, "outcome": None})
        self.flush()
        if self._rows or self._fits:  # storage still refuses: stopping goes on, say what is lost
            log.error("%d decision records could not be written", len(self._rows))
