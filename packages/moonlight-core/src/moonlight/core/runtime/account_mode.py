"""An account's ``mode`` is enforced against what its broker says the account is.

The rules (one per mode; the broker's word comes from ``Connector.account_info`` after
connecting, never from the connector's options):

* ``paper`` — orders go to MoonLight's paper broker, which reports
  :attr:`AccountKind.PAPER`; the account's connector only supplies prices.
* ``demo`` — the broker must report a practice account (:attr:`AccountKind.DEMO`).
* ``live`` — the broker must report a real-money account (:attr:`AccountKind.REAL`), and
  only an explicit ``mode: live`` trades one (the connector's own
  ``allow_real_account: true`` is needed as well to even select it).

The engine checks after connecting and refuses to start an account that disagrees. It
checks again after every reconnect: :class:`AccountModeGate` is awaited by the executor
just before each ``place_order``; when the broker's ``connection_epoch`` differs from the
one last verified it reads ``account_info`` again, and a mismatch fails that order before
anything is sent (``Rejected`` with code ``account_mode_mismatch``) and tells the engine,
which halts the account and raises a critical alarm.

``config check`` applies the same rules statically to what a connector's options declare
(:func:`static_mode_problem`, fed by ``DeclaresAccountKind.account_kind_for``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final, Literal

from moonlight.core.connectors.contract import (
    AccountKind,
    BrokerAccount,
    Connector,
    ConnectorError,
    OrderRequest,
    Rejected,
    Transient,
)

log = logging.getLogger("moonlight.account_mode")

Mode = Literal["paper", "demo", "live"]

MODE_MISMATCH: Final = "account_mode_mismatch"
"""The ``Rejected`` code (and alarm code) of an account whose broker contradicts its mode."""

REQUIRED_KIND: Final[Mapping[str, AccountKind]] = {
    "paper": AccountKind.PAPER,
    "demo": AccountKind.DEMO,
    "live": AccountKind.REAL,
}
"""The only account kind each mode may trade on."""

#: How often the epoch may change under one check before the check gives up (the
#: connection is flapping; the order is retried like any send that never left).
_MAX_EPOCH_RACES = 3


class AccountModeMismatch(Rejected):
    """The broker's account is not the kind the account's ``mode`` requires."""

    def __init__(self, account_id: str, mode: str, found: AccountKind) -> None:
        required = REQUIRED_KIND[mode]
        super().__init__(
            f"account {account_id} is configured mode {mode!r}, which trades only a"
            f" {required.value} account, but the broker reports a {found.value} account;"
            " nothing was sent",
            code=MODE_MISMATCH,
        )
        self.account_id = account_id
        self.mode = mode
        self.found = found


def static_mode_problem(mode: str, declared: AccountKind | None) -> str | None:
    """Why a connector's options contradict ``mode``, from their declared kind; None if not.

    ``paper`` never contradicts (its orders go to the paper broker, the connector only
    supplies prices); ``declared`` None means the options cannot tell before connecting.
    """
    if mode == "paper" or declared is None or declared is REQUIRED_KIND[mode]:
        return None
    if declared is AccountKind.REAL:
        return (
            f"the connector options select a real-money account, but mode is {mode!r};"
            " real money is traded only with an explicit mode: live"
        )
    return (
        f"the connector options select a {declared.value} account, but mode {mode!r}"
        f" trades only a {REQUIRED_KIND[mode].value} account"
    )


class AccountModeGate:
    """Checks one account's broker against its mode, at start and before every order.

    ``on_mismatch`` is called (before the error is raised) whenever the broker contradicts
    the mode, so the engine can halt the account and raise its critical alarm;
    ``on_verified`` whenever a check finds the broker agreeing.
    """

    def __init__(
        self,
        broker: Connector,
        account_id: str,
        mode: Mode,
        *,
        on_mismatch: Callable[[AccountModeMismatch], None],
        on_verified: Callable[[BrokerAccount], None] | None = None,
    ) -> None:
        self.broker = broker
        self.account_id = account_id
        self.mode = mode
        self.on_mismatch = on_mismatch
        self.on_verified = on_verified
        self.verified_epoch: int | None = None
        self.account: BrokerAccount | None = None

    async def verify(self) -> BrokerAccount:
        """Read ``account_info`` on the current connection and compare it with the mode.

        Raises :class:`AccountModeMismatch` on a contradiction (the epoch is then not
        remembered, so the next order checks again), ``Transient`` when the connection
        kept changing under the check, or whatever ``account_info`` raised.
        """
        for _ in range(_MAX_EPOCH_RACES):
            epoch = self.broker.connection_epoch
            account = await self.broker.account_info(self.account_id)
            if self.broker.connection_epoch == epoch:
                break
        else:
            raise Transient(f"{self.account_id}: the connection kept changing during the check")
        if account.kind is not REQUIRED_KIND[self.mode]:
            self.verified_epoch = None
            error = AccountModeMismatch(self.account_id, self.mode, account.kind)
            log.critical("%s", error)
            self.on_mismatch(error)
            raise error
        self.verified_epoch = epoch
        self.account = account
        if self.on_verified is not None:
            self.on_verified(account)
        return account

    async def __call__(self, request: OrderRequest) -> None:
        """The executor's pre-send gate: returns when ``request`` may be sent.

        Only :class:`ConnectorError` escapes (the executor retries ``Transient`` and
        ``Disconnected`` like a send that never left, and fails the order on
        ``Rejected``); an order for another account is refused outright.
        """
        if request.account_id != self.account_id:
            raise Rejected(
                f"order for {request.account_id} reached the gate of {self.account_id}",
                code=MODE_MISMATCH,
            )
        if self.verified_epoch is not None and self.broker.connection_epoch == self.verified_epoch:
            return
        try:
            await self.verify()
        except ConnectorError:
            raise
        except Exception as error:  # a connector bug must not look like "maybe sent"
            raise Transient(f"{self.account_id}: account check failed: {error!r}") from error
