"""The risk manager: one decision through permit → threshold → guards → sizing.

This is the hot path of every bar close, so it reads the clock once, allocates one
:class:`RiskDecision`, and stops at the first rule that refuses. Refusals are counted
per reason in :attr:`RiskManager.reject_counts` (exported as
``guard_reject_total{reason}``) and handed to ``on_reject`` (storage of the decision).

The manager also fans the engine's observations out to every guard and derives each
account's trading state from them. The kill-switch is always present and always first:
if the configuration does not list it, the manager adds one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from moonlight.core.events import utc_now
from moonlight.core.risk.decision import ReasonCode, RiskDecision, Scope
from moonlight.core.risk.guards.base import ConnectorErrorKind, Guard, TradeResult
from moonlight.core.risk.guards.kill_switch import KillSwitch
from moonlight.core.risk.permit import PermitRule
from moonlight.core.risk.request import DecisionRequest
from moonlight.core.risk.sizing.base import SizingPolicy
from moonlight.core.risk.sizing.clamp import clamp_stake
from moonlight.core.risk.threshold import ThresholdRule
from moonlight.core.risk.trading_state import AccountTradingState, derive_trading_state

RejectListener = Callable[[DecisionRequest, RiskDecision], None]


class RiskManager:
    """Runs the risk chain for one decision and keeps the guards informed."""

    def __init__(
        self,
        *,
        permit: PermitRule,
        threshold: ThresholdRule,
        sizing: SizingPolicy,
        kill_switch: KillSwitch,
        guards: Sequence[Guard] = (),
        now: Callable[[], datetime] = utc_now,
        on_reject: RejectListener | None = None,
    ) -> None:
        self._permit = permit
        self._threshold = threshold
        self._sizing = sizing
        self._kill_switch = kill_switch
        self._guards: tuple[Guard, ...] = (
            kill_switch,
            *(guard for guard in guards if guard is not kill_switch),
        )
        self._now = now
        self._on_reject = on_reject
        self.reject_counts: dict[ReasonCode, int] = {}

    # ------------------------------------------------------------------ hot path

    def decide(self, request: DecisionRequest) -> RiskDecision:
        """Allow with a stake, or refuse with the first refusing rule's reason."""
        now = self._now()
        verdict = self._permit.check(request)
        rule = "permit"
        if verdict.allowed:
            verdict = self._threshold.check(request)
            rule = "threshold"
            if verdict.allowed:
                for guard in self._guards:
                    verdict = guard.check(request, now)
                    if not verdict.allowed:
                        rule = guard.name
                        break
                else:
                    proposed = self._sizing.stake(request)
                    stake, reason = clamp_stake(proposed, request)
                    if reason is None:
                        return RiskDecision(
                            True, stake, None, "", Scope.DECISION, "", None, "", proposed, now
                        )
                    return self._refuse(
                        request,
                        RiskDecision(
                            False,
                            0.0,
                            reason,
                            "sizing",
                            Scope.DECISION,
                            request.instrument,
                            None,
                            f"{self._sizing.name} proposed {proposed!r}",
                            proposed,
                            now,
                        ),
                    )
        assert verdict.reason is not None  # a refusal always carries its reason
        return self._refuse(
            request,
            RiskDecision(
                False,
                0.0,
                verdict.reason,
                rule,
                verdict.scope,
                verdict.scope_key,
                verdict.until,
                verdict.detail,
                0.0,
                now,
            ),
        )

    def _refuse(self, request: DecisionRequest, decision: RiskDecision) -> RiskDecision:
        reason = decision.reason
        assert reason is not None
        self.reject_counts[reason] = self.reject_counts.get(reason, 0) + 1
        if self._on_reject is not None:
            self._on_reject(request, decision)
        return decision

    # ------------------------------------------------------------------ observations

    def on_order_opened(self, account_id: str, instrument: str, client_req_id: str) -> None:
        """An order was created from an allowed decision; call before awaiting anything."""
        now = self._now()
        self._each(lambda g: g.on_order_opened(account_id, instrument, client_req_id, now))

    def on_order_closed(self, account_id: str, instrument: str, client_req_id: str) -> None:
        """An order reached SETTLED or FAILED."""
        now = self._now()
        self._each(lambda g: g.on_order_closed(account_id, instrument, client_req_id, now))

    def on_result(self, result: TradeResult) -> None:
        """An order's outcome was recorded (the order is closed separately)."""
        now = self._now()
        self._each(lambda g: g.on_result(result, now))

    def on_day_pnl(self, account_id: str, pnl_today: float) -> None:
        """The account's net P&L of the current day, summed from stored results."""
        now = self._now()
        self._each(lambda g: g.on_day_pnl(account_id, pnl_today, now))

    def on_connector_success(self, account_id: str, latency_s: float) -> None:
        """A connector call of the account succeeded after ``latency_s`` seconds."""
        now = self._now()
        self._each(lambda g: g.on_connector_success(account_id, latency_s, now))

    def on_connector_error(
        self, account_id: str, kind: ConnectorErrorKind, latency_s: float
    ) -> None:
        """A connector call of the account failed after ``latency_s`` seconds."""
        now = self._now()
        self._each(lambda g: g.on_connector_error(account_id, kind, latency_s, now))

    def _each(self, deliver: Callable[[Guard], None]) -> None:
        """Deliver to every guard even if one raises (a failed write); then re-raise."""
        error: Exception | None = None
        for guard in self._guards:
            try:
                deliver(guard)
            except Exception as exc:  # re-raised below, after every guard saw the event
                error = error or exc
        if error is not None:
            raise error

    # ------------------------------------------------------------------ state

    @property
    def kill_switch(self) -> KillSwitch:
        """The kill-switch (engage / re-arm from the API or the CLI)."""
        return self._kill_switch

    @property
    def guards(self) -> tuple[Guard, ...]:
        """The guards in the order they are checked (the kill-switch first)."""
        return self._guards

    def guard(self, name: str) -> Guard:
        """The guard registered as ``name``; KeyError if it is not configured."""
        for guard in self._guards:
            if guard.name == name:
                return guard
        raise KeyError(f"guard {name!r} is not configured")

    def trading_state(self, account_id: str) -> AccountTradingState:
        """ACTIVE, REDUCING or HALTED for one account, with every active restriction."""
        now = self._now()
        return derive_trading_state(
            account_id, (s for guard in self._guards for s in guard.statuses(account_id, now))
        )

    def trading_states(self, account_ids: Iterable[str]) -> dict[str, AccountTradingState]:
        """:meth:`trading_state` for several accounts."""
        return {account_id: self.trading_state(account_id) for account_id in account_ids}
