"""One engine process per account: claims on the shared PostgreSQL store.

Scale-out runs several engine processes (on one host or many) over one PostgreSQL
database, each with its own ``runtime.accounts``. Two processes trading the same account
would send its orders twice, so before an engine touches an account it claims it:
a PostgreSQL session-level advisory lock keyed by the account id, taken with
``pg_try_advisory_lock`` on a connection the engine holds open until it stops. A second
process asking for the same account gets :class:`AccountClaimed` -- with the holder's
backend pid and address -- and does not start. If the holder dies, PostgreSQL drops its
connection and with it the lock, so a restarted process (or another one) can take over
without anyone clearing a stale row.

On SQLite there is nothing to claim against: one database file belongs to one host and,
by design, to one engine process (docs: scale-out needs PostgreSQL).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable

from sqlalchemy import Connection, Engine as SqlEngine, text

log = logging.getLogger("moonlight.claims")

#: Namespaces the advisory-lock key so it cannot collide with another application's.
KEY_PREFIX = "moonlight-account:"


class AccountClaimed(RuntimeError):
    """Another engine process already runs this account on the same database."""


def claim_key(account_id: str) -> int:
    """The signed 64-bit advisory-lock key of an account (stable across processes)."""
    digest = hashlib.sha256(f"{KEY_PREFIX}{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AccountClaims:
    """The accounts this process holds; :meth:`release` gives them back."""

    def __init__(self, connection: Connection | None, account_ids: tuple[str, ...]) -> None:
        self._connection = connection
        self.account_ids = account_ids

    @classmethod
    def acquire(cls, storage: SqlEngine, account_ids: Iterable[str]) -> AccountClaims:
        """Claim every account or none; raises :class:`AccountClaimed` naming the first
        account another process holds."""
        ids = tuple(account_ids)
        if storage.dialect.name != "postgresql":
            return cls(None, ids)
        connection = storage.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            for account_id in ids:
                taken = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": claim_key(account_id)}
                ).scalar_one()
                if not taken:
                    raise AccountClaimed(
                        f"account {account_id!r} is already run by another engine process on "
                        f"this database ({_holder(connection, account_id)}); give every "
                        "process its own runtime.accounts"
                    )
        except BaseException:
            _unlock_and_close(connection)
            raise
        log.info("claimed %d account(s) on the shared store", len(ids))
        return cls(connection, ids)

    def release(self) -> None:
        """Give the accounts back (idempotent)."""
        if self._connection is not None:
            _unlock_and_close(self._connection)
            self._connection = None


def _holder(connection: Connection, account_id: str) -> str:
    """Who holds an account's lock, as PostgreSQL knows it (pid, address)."""
    key = claim_key(account_id) & 0xFFFFFFFFFFFFFFFF
    row = connection.execute(
        text(
            "SELECT a.pid, a.client_addr FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.classid = :high AND l.objid = :low AND l.objsubid = 1"
        ),
        {"high": key >> 32, "low": key & 0xFFFFFFFF},
    ).first()
    if row is None:
        return "holder not visible"
    return f"backend pid {row.pid}" + (f" from {row.client_addr}" if row.client_addr else "")


def _unlock_and_close(connection: Connection) -> None:
    # Session locks outlive a pooled connection's return to the pool: unlock first.
    try:
        connection.execute(text("SELECT pg_advisory_unlock_all()"))
    finally:
        connection.close()
