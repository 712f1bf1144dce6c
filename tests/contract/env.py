"""What a connector factory hands the contract suite.

Each module in :mod:`tests.contract.factories` defines

* ``NAME`` — the connector's name (the test id);
* ``REQUIRES`` — importable module names the factory needs; when one is missing the
  connector is not installed and its tests are skipped with that reason;
* ``make_env(tmp_path)`` — an async context manager yielding a connected
  :class:`ContractEnv` and closing everything (connector, fake servers) on exit.

Adding a connector to the suite is adding one module there; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from moonlight.core.connectors.contract import AccountKind, Connector


@dataclass
class ContractEnv:
    """A connected connector plus the broker-side facts the checks compare against."""

    name: str
    connector: Connector
    account_id: str
    instrument: str
    timeframe_s: int
    duration_s: int
    stake: float
    rejected_stake: float
    #: How many orders the broker's own book holds (read from the broker, not the connector).
    broker_order_count: Callable[[], int]
    #: The broker's clock (epoch seconds), to check ``server_time()`` against.
    broker_now: Callable[[], float]
    #: True when ``place_order`` itself refuses or answers a repeated client_req_id
    #: without a second order (the mock, like a naive broker, does not: the executor's
    #: unique client_req_id is what protects it).
    dedupes_client_req_id: bool = True
    #: Longest wait for a settlement after expiry, in seconds.
    settle_timeout_s: float = 10.0
    #: Largest allowed gap between ``server_time()`` and ``broker_now()``, in seconds.
    clock_tolerance_s: float = 1.5
    #: What the broker's own records say the account is (demo unless the factory says).
    broker_account_kind: AccountKind = AccountKind.DEMO
