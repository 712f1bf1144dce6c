"""Accounts, balances, stake limits and payouts as the server pushes them.

* e:55 lists every account with its ``account_id`` and ``group`` (demo/real); MoonLight
  account ids resolve to one of them through ``accounts`` in the config, or directly
  when the id *is* a broker account id, or else to the first account of
  ``default_group`` (demo by default). A resolved account's group is always the one the
  **broker** reports: a configured group that disagrees is refused (one public client
  sent ``group: "demo"`` for its real branch — brief 3.2).
* e:75 gives per-currency stake limits ``{min, max, default}``, keyed by **lower-case**
  currency in the 2025 log (``usd``); they are read case-insensitively. A currency the
  table does not list gets no invented limits: its limits are NaN, which the risk clamp
  and :mod:`~moonlight.connectors.olymp.refusals` treat as "refuse" (fail closed).
* e:182 (reply) / e:183 (push) give per-asset payouts (``profitability``, percent) and
  whether the asset is tradable.
"""

from __future__ import annotations

import asyncio
import math

from moonlight.connectors.olymp.config import OlympConfig
from moonlight.connectors.olymp.payloads import BalanceData, LimitData, PayoutData
from moonlight.connectors.olymp.safety import refuse_real
from moonlight.core.connectors.contract import Disconnected, Instrument, Rejected


class AccountState:
    """What the broker told this session about accounts, limits and payouts."""

    def __init__(self, config: OlympConfig) -> None:
        self.config = config
        self.balances: dict[str, BalanceData] = {}
        self.limits: dict[str, LimitData] = {}
        self.payouts: dict[str, PayoutData] = {}
        self.balances_seen = asyncio.Event()

    # -- updates from pushes ----------------------------------------------------------

    def update_balances(self, balances: list[BalanceData]) -> None:
        for balance in balances:
            self.balances[balance.account_id] = balance
        if balances:
            self.balances_seen.set()

    def update_limits(self, limits: dict[str, LimitData]) -> None:
        self.limits.update(limits)

    def update_payouts(self, payouts: list[PayoutData]) -> None:
        for payout in payouts:
            self.payouts[payout.pair] = payout

    # -- account resolution -----------------------------------------------------------

    def precheck_order(self, account_id: str) -> None:
        """Refuse a real-money order from the configuration alone (before any I/O)."""
        ref = self.config.accounts.get(account_id)
        group: str = ref.group if ref is not None else self.config.default_group
        if ref is None and account_id in self.balances:
            group = self.balances[account_id].group
        refuse_real(account_id, group, allowed=self.config.allow_real_account)

    def resolve(self, account_id: str, *, for_order: bool) -> tuple[str, str]:
        """``(broker account id, group)`` of a MoonLight account id.

        With ``for_order`` a real-money account without ``allow_real_account`` raises
        :class:`~moonlight.connectors.olymp.safety.RealAccountRefused`.
        """
        ref = self.config.accounts.get(account_id)
        group: str
        if ref is not None:
            broker_id = ref.account_id or self._first_of(ref.group)
            group = ref.group
        elif account_id in self.balances:
            broker_id, group = account_id, self.balances[account_id].group
        else:
            group = self.config.default_group
            broker_id = self._first_of(group)
        known = self.balances.get(broker_id)
        if known is not None and known.group != group:
            raise Rejected(
                f"account {broker_id} is a {known.group} account at the broker but is"
                f" configured as {group}: refused"
            )
        if for_order:
            refuse_real(broker_id, group, allowed=self.config.allow_real_account)
        return broker_id, group

    def moonlight_ids_for(self, broker_id: str, candidates: list[str]) -> list[str]:
        """Which of ``candidates`` (MoonLight ids) resolve to ``broker_id``."""
        matched = []
        for candidate in candidates:
            try:
                resolved, _ = self.resolve(candidate, for_order=False)
            except (Rejected, Disconnected):
                continue
            if resolved == broker_id:
                matched.append(candidate)
        return matched

    def _first_of(self, group: str) -> str:
        for balance in self.balances.values():
            if balance.group == group:
                return balance.account_id
        if not self.balances:
            raise Disconnected("the broker has not listed the accounts yet (no e:55 balance push)")
        raise Rejected(f"the broker lists no {group} account")

    def currency_of(self, broker_id: str) -> str:
        balance = self.balances.get(broker_id)
        return (balance.currency if balance is not None else None) or self.config.currency

    # -- instruments ------------------------------------------------------------------

    def stake_limits(self, currency: str) -> LimitData:
        """The e:75 limits of ``currency`` (any case); NaN limits when it is not listed."""
        known = self.limits.get(currency.upper())
        return known if known is not None else LimitData(currency, math.nan, math.nan, math.nan)

    def instruments(self, currency: str) -> list[Instrument]:
        """Every asset of the payout list as an :class:`Instrument`, sorted by symbol."""
        limits = self.stake_limits(currency)
        result = []
        for pair in sorted(self.payouts):
            payout = self.payouts[pair]
            low = payout.min_duration_s or 0.0
            high = payout.max_duration_s or float("inf")
            durations = tuple(d for d in sorted(self.config.durations_s) if low <= d <= high)
            result.append(
                Instrument(
                    symbol=pair,
                    payout_pct=payout.payout_pct,
                    stake_min=limits.min,
                    stake_max=limits.max,
                    durations_s=durations,
                    currency=currency,
                    is_open=payout.is_open and bool(durations),
                    digits=payout.digits if payout.digits is not None else 5,
                )
            )
        return result
