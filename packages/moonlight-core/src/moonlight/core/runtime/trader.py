"""Decisions for one account: ensemble → risk → executor, and what results feed back.

The decision step (:mod:`moonlight.core.runtime.step`) calls :meth:`AccountTrader.decide`
with the signals of the bar that just closed, after the shell awaited
:meth:`AccountTrader.prepare` (the only I/O: a stale instrument book). The trader votes
(one :class:`~moonlight.core.ensemble.ensemble.Ensemble` per instrument and timeframe,
calibrated from the stored calibration book), asks risk, and hands an
:class:`~moonlight.core.execution.journal.OrderIntent` to the account's executor. The
``client_req_id`` is derived from the decision itself (account, instrument, timeframe,
bar close), so replaying a bar after a restart can never open a second order: storage
refuses the duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from moonlight.core.config.models import AccountConfig
from moonlight.core.connectors.contract import (
    Candle,
    ConnectorError,
)
from moonlight.core.decisions.sink import (
    BELOW_THRESHOLD,
    NO_DIRECTION,
    NOT_SENT,
    REFUSED,
    TRADED,
    DecisionSink,
)
from moonlight.core.ensemble.book import CalibrationBook
from moonlight.core.ensemble.ensemble import Ensemble, EnsembleDecision
from moonlight.core.ensemble.platt import UNFITTED, Calibration
from moonlight.core.events import OrderSettled
from moonlight.core.execution.executor import Executor, TradingHalted
from moonlight.core.execution.journal import OrderIntent
from moonlight.core.execution.observer import FinishedOrder
from moonlight.core.orders import Direction, Outcome
from moonlight.core.risk.decision import ReasonCode, RiskDecision
from moonlight.core.risk.guards.base import ConnectorErrorKind, TradeResult
from moonlight.core.risk.manager import RiskManager
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.runtime.alarms import RiskAlarms
from moonlight.core.runtime.clock import Clock
from moonlight.core.runtime.instruments import InstrumentBook
from moonlight.core.runtime.worker_key import WorkerKey
from moonlight.core.storage.repository import DuplicateOrderError
from moonlight.core.strategy.api import Signal, SignalDirection
from moonlight.core.strategy.host import StrategyGroup
from moonlight.core.telemetry.metrics import EngineMetrics, LatencyStage
from moonlight.core.timeframes import timeframe_seconds

log = logging.getLogger("moonlight.trader")

_OUTSIDE_PERMIT = frozenset({ReasonCode.PAYOUT_BELOW_PERMIT, ReasonCode.PAYOUT_ABOVE_PERMIT})


class AccountTrader:
    """Turns one account's signals into guarded orders; see the module docstring."""

    def __init__(
        self,
        account: AccountConfig,
        *,
        executor: Executor,
        instruments: InstrumentBook,
        risk: RiskManager,
        metrics: EngineMetrics,
        clock: Clock,
        strategy_names: Sequence[str],
        weights: Sequence[float],
        min_payout_pct: float | None = None,
        calibrations: CalibrationBook | None = None,
        prior: Calibration | None = None,
        run_id: str | None = None,
        risk_alarms: RiskAlarms | None = None,
        decisions: DecisionSink | None = None,
    ) -> None:
        self.account = account
        self.executor = executor
        self.instruments = instruments
        self.risk = risk
        self.metrics = metrics
        self.clock = clock
        self.strategy_names = list(strategy_names)
        self.weights = list(weights)
        self.calibrations = calibrations
        self.min_payout_pct = min_payout_pct
        self.prior = prior
        self.risk_alarms = risk_alarms
        self.run_id = run_id
        self.decisions = decisions
        self.balance = 0.0
        self.orders_submitted = 0
        self._ensembles: dict[tuple[str, str], Ensemble] = {}

    def ensemble(self, instrument: str, timeframe: str) -> Ensemble:
        """The ensemble of one worker: the walk-forward fit in force (decision sink), else
        the newest stored fit, else the exploration prior, else the conservative mapping."""
        key = (instrument, timeframe)
        ensemble = self._ensembles.get(key)
        if ensemble is None:
            ensemble = self._ensembles[key] = Ensemble(self.weights)
        fit = (
            self.decisions.calibration(instrument, timeframe)
            if self.decisions is not None
            else self.calibrations.lookup(instrument, timeframe)
            if self.calibrations is not None
            else None
        )
        if fit is not None and fit.fitted:
            ensemble.use_calibration(fit)
        else:
            ensemble.use_calibration(self.prior or UNFITTED)
        return ensemble

    def duration_s(self, timeframe: str) -> int:
        """Contract duration: the account's expiry, else the worker's timeframe."""
        return timeframe_seconds(self.account.expiry or timeframe)

    async def refresh_balance(self) -> None:
        """Reload the account balance from the broker (after results, at start)."""
        try:
            self.balance = (await self.executor.connector.balance(self.account.id)).amount
        except ConnectorError as error:
            log.warning("%s: balance unavailable: %r", self.account.id, error)

    async def prepare(self) -> None:
        """The I/O a decision needs, done before the synchronous step: reload the
        instrument book (payouts, stake limits) when it is stale."""
        await self.instruments.refresh()

    def decide(
        self,
        key: WorkerKey,
        bar: Candle,
        signals: Sequence[Signal],
        group: StrategyGroup,
        close_ts: float,
    ) -> OrderIntent | None:
        """Vote, check risk and submit an order for the bar that closed at ``close_ts``
        (synchronous: the executor's task runs once the caller yields); the decision and
        what it led to go to the decision sink, traded or not."""
        if self.decisions is not None:
            self.decisions.observe(
                self.account.id, key.instrument, key.timeframe, bar.end_ts, bar.close
            )
        decision = self.ensemble(key.instrument, key.timeframe).decide(signals)
        intent, action, reason, payout = self._act(key, decision, signals, group, close_ts)
        if self.decisions is not None:
            self.decisions.record(
                account_id=self.account.id,
                instrument=key.instrument,
                timeframe=key.timeframe,
                decided_ts=bar.end_ts,
                duration_s=self.duration_s(key.timeframe),
                entry_price=bar.close,
                decision=decision,
                action=action,
                reason=reason,
                payout_pct=payout,
                client_req_id=intent.client_req_id if intent is not None else None,
                exploration=action == TRADED and not decision.calibrated,
                signals=self._signals(signals),
                features=_plain(group.feed.values),
            )
        return intent

    def _act(
        self,
        key: WorkerKey,
        decision: EnsembleDecision,
        signals: Sequence[Signal],
        group: StrategyGroup,
        close_ts: float,
    ) -> tuple[OrderIntent | None, str, str | None, float | None]:
        """Risk and executor for one decision: (intent, action, reason, payout %)."""
        self.metrics.decision_made(key.timeframe, (self.clock.now() - close_ts) * 1000.0)
        if decision.direction is SignalDirection.NONE:
            return None, NO_DIRECTION, None, None
        instrument = self.instruments.get(key.instrument)
        payout = instrument.payout_pct if instrument else None
        request = DecisionRequest(
            account_id=self.account.id,
            instrument=key.instrument,
            direction=Direction(decision.direction.value),
            p_hat=decision.p_hat,
            payout_pct=payout,
            balance=self.balance,
            account_max_stake=self.account.max_stake,
            min_stake=instrument.stake_min if instrument else None,
            max_stake=instrument.stake_max if instrument else None,
            timeframe=key.timeframe,
        )
        verdict = self.risk.decide(request)
        if not verdict.allowed or instrument is None:
            self._refused(key, verdict)
            action = BELOW_THRESHOLD if verdict.rule == "threshold" else REFUSED
            return None, action, verdict.reason.value if verdict.reason else None, payout
        intent = OrderIntent(
            client_req_id=f"{self.account.id}:{key.instrument}:{key.timeframe}:{int(close_ts)}",
            account_id=self.account.id,
            instrument=key.instrument,
            timeframe=key.timeframe,
            direction=request.direction,
            stake=verdict.stake,
            duration_s=self.duration_s(key.timeframe),
            payout_pct=instrument.payout_pct,
            currency=self.account.currency,
            score=decision.score,
            p_hat=decision.p_hat,
            decided_ts=self.clock.now(),
            min_payout_pct=self.min_payout_pct,
            strategy_snapshot={
                "strategies": self.strategy_names,
                "weights": self.weights,
                "confidence": decision.confidence,
                "calibrated": decision.calibrated,
                "exploration": not decision.calibrated,
            },
            indicators=_plain(group.feed.values),
            signals=self._signals(signals),
            run_id=self.run_id,
        )
        if not self.executor.trading_allowed:
            log.info(
                "%s: trading halted (%s); decision not sent", key.label, self.executor.halted_reason
            )
            return None, NOT_SENT, "halted", payout
        self.risk.on_order_opened(self.account.id, key.instrument, intent.client_req_id)
        try:
            task = self.executor.submit(intent)
        except (TradingHalted, DuplicateOrderError) as error:
            self.risk.on_order_closed(self.account.id, key.instrument, intent.client_req_id)
            log.info("%s: order not submitted: %s", key.label, error)
            return None, NOT_SENT, type(error).__name__, payout
        task.add_done_callback(partial(self._order_ended, key.instrument, intent.client_req_id))
        self.orders_submitted += 1
        return intent, TRADED, None, payout

    def _signals(self, signals: Sequence[Signal]) -> dict[str, list[Any]]:
        return {
            name: [s.direction.value, s.strength, s.reason]
            for name, s in zip(self.strategy_names, signals, strict=False)
        }

    def _order_ended(self, instrument: str, client_req_id: str, task: asyncio.Task[Any]) -> None:
        """Free the order's guard slot if its task ended without a result (stopped, or a
        bug); a result frees it through :meth:`settled`. Releasing twice is harmless."""
        if task.cancelled() or task.exception() is not None:
            self.risk.on_order_closed(self.account.id, instrument, client_req_id)

    def _refused(self, key: WorkerKey, verdict: RiskDecision) -> None:
        if self.risk_alarms is None or verdict.reason is None:
            return
        if verdict.reason in _OUTSIDE_PERMIT:
            self.risk_alarms.outside_permit(key.instrument, verdict.detail)
        elif verdict.rule not in ("permit", "threshold", "sizing"):
            self.risk_alarms.check()

    # -- what the executor reports (execution.observer.OrderObserver) -----------------

    def order_resumed(self, account_id: str, instrument: str, client_req_id: str) -> None:
        """An order of an earlier run is followed again: it holds a guard slot."""
        self.risk.on_order_opened(account_id, instrument, client_req_id)

    def order_finished(self, finished: FinishedOrder) -> None:
        """A stored final result: balance, risk, the day's P&L and latency metrics."""
        self.settled(finished.event, timeframe=finished.timeframe)
        result = finished.result
        stages = (
            (LatencyStage.TOTAL, (result.settled_ts - finished.decided_ts) * 1e3),
            (LatencyStage.DECISION_TO_SEND, result.decision_to_send_ms),
            (LatencyStage.SEND_TO_ACK, result.send_to_ack_ms),
            (LatencyStage.EXPIRY_TO_SETTLEMENT, result.expiry_to_settlement_ms),
        )
        for stage, latency_ms in stages:
            if latency_ms is not None:
                self.metrics.order_latency(stage, max(0.0, latency_ms))

    def restate_day(self, pnl_today: float) -> None:
        """The account's P&L of the current day, summed from stored results (start-up):
        the daily-loss cap and ``pnl_day`` start from this one figure."""
        self.risk.on_day_pnl(self.account.id, pnl_today)
        self.metrics.set_pnl_day(self.account.id, pnl_today)

    def settled(self, event: OrderSettled, *, timeframe: str | None = None) -> None:
        """Feed a final result back to risk and metrics."""
        outcome = Outcome(event.outcome)
        self.balance += event.pnl if outcome is not Outcome.ABORT else 0.0
        self.metrics.order_settled(
            event.account_id, outcome, event.pnl, instrument=event.instrument, timeframe=timeframe
        )
        try:
            self.risk.on_result(
                TradeResult(
                    account_id=event.account_id,
                    instrument=event.instrument,
                    client_req_id=event.client_req_id,
                    outcome=outcome,
                    pnl=event.pnl,
                    balance_after=self.balance,
                )
            )
        finally:  # a guard that cannot save must not keep the order's slot
            self.risk.on_order_closed(event.account_id, event.instrument, event.client_req_id)
        if self.risk_alarms is not None:
            self.risk_alarms.check()

    # -- signals from workers -----------------------------------------------------------

    def connector_failed(self, error: ConnectorError) -> None:
        self.metrics.connector_error(error)

    def risk_connector_error(
        self, account_id: str, kind: ConnectorErrorKind, latency_s: float
    ) -> None:
        self.risk.on_connector_error(account_id, kind, latency_s)
        if self.risk_alarms is not None:
            if kind is ConnectorErrorKind.RATE_LIMITED:
                self.risk_alarms.rate_limited(self.clock.now())
            self.risk_alarms.check()

    def risk_connector_ok(self, account_id: str, latency_s: float) -> None:
        self.risk.on_connector_success(account_id, latency_s)
        if self.risk_alarms is not None and self.risk_alarms.any_active:
            self.risk_alarms.check()

    def bar_lag(self, key: WorkerKey, lag_s: float) -> None:
        self.metrics.bar_lag(key.timeframe, lag_s * 1000.0)

    def bar_missing(self, key: WorkerKey, close_ts: float) -> None:
        log.info("%s: no candle for the bar closing at %.0f", key.label, close_ts)


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Indicator values as JSON-ready numbers (tuples of outputs become lists)."""
    plain: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, tuple):
            plain[key] = [float(v) for v in value]
        else:
            plain[key] = float(value)
    return plain
