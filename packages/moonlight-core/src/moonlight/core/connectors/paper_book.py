"""The paper broker's book: balances and contracts, in memory or persisted in storage.

:class:`SqlPaperBook` keeps them in the ``paper_accounts`` and ``paper_contracts`` tables,
so paper balances and open contracts survive a restart; every method is one committed
transaction (opening a contract debits the stake in the same transaction that inserts
it; the contracts that settle at one instant are written together, one executemany).
:class:`MemoryPaperBook` is the same book without persistence, for backtests and tests
that do not need it.

Storage faults surface as :class:`~moonlight.core.storage.errors.StorageUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Table,
    bindparam,
    exc,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.orders import Direction, Outcome
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.models import PaperAccount, PaperContract

_ACCOUNTS = cast(Table, PaperAccount.__table__)
_CONTRACTS = cast(Table, PaperContract.__table__)


class DuplicateContract(Exception):
    """The book already holds a contract for this client_req_id."""


class InsufficientFunds(Exception):
    """The account's balance does not cover the stake."""


@dataclass(frozen=True, slots=True)
class ContractRecord:
    """One paper contract as the book stores it (times in epoch seconds)."""

    broker_order_id: str
    client_req_id: str
    account_id: str
    instrument: str
    direction: Direction
    stake: float
    payout_pct: float
    duration_s: int
    accepted_ts: float
    expires_ts: float
    entry_price: float | None = None
    exit_price: float | None = None
    outcome: Outcome | None = None
    pnl: float | None = None
    settled_ts: float | None = None


class PaperBook(Protocol):
    """Balances and contracts of the paper broker."""

    def balance(self, account_id: str) -> tuple[float, str]:
        """``(balance, currency)``; an unknown account opens at the starting balance."""
        ...

    def open_contract(self, record: ContractRecord) -> None:
        """Debit the stake and store the contract, atomically."""
        ...

    def set_entry(self, broker_order_id: str, entry_price: float) -> None:
        """Record the entry price once it is known."""
        ...

    def settle_many(self, settled: Sequence[tuple[ContractRecord, float]]) -> None:
        """Store every settled ``record`` and credit its ``credit`` to its account, all
        in one transaction; a contract already settled is neither stored nor credited
        again."""
        ...

    def get(self, broker_order_id: str) -> ContractRecord | None:
        """One contract by broker id."""
        ...

    def by_client(self, client_req_id: str) -> ContractRecord | None:
        """One contract by client_req_id."""
        ...

    def open_contracts(self, account_id: str | None = None) -> list[ContractRecord]:
        """Contracts not settled yet, oldest first."""
        ...


class MemoryPaperBook:
    """A :class:`PaperBook` in memory (nothing survives the process)."""

    def __init__(self, *, starting_balance: float = 10_000.0, currency: str = "USD") -> None:
        self._starting = starting_balance
        self._currency = currency
        self._balances: dict[str, float] = {}
        self._contracts: dict[str, ContractRecord] = {}
        self._by_client: dict[str, str] = {}

    def balance(self, account_id: str) -> tuple[float, str]:
        return self._balances.setdefault(account_id, self._starting), self._currency

    def open_contract(self, record: ContractRecord) -> None:
        if record.client_req_id in self._by_client:
            raise DuplicateContract(record.client_req_id)
        balance, _ = self.balance(record.account_id)
        if balance < record.stake:
            raise InsufficientFunds(f"balance {balance:g} < stake {record.stake:g}")
        self._balances[record.account_id] = round(balance - record.stake, 8)
        self._contracts[record.broker_order_id] = record
        self._by_client[record.client_req_id] = record.broker_order_id

    def set_entry(self, broker_order_id: str, entry_price: float) -> None:
        record = self._contracts[broker_order_id]
        self._contracts[broker_order_id] = replace(record, entry_price=entry_price)

    def settle_many(self, settled: Sequence[tuple[ContractRecord, float]]) -> None:
        for record, credit in settled:
            existing = self._contracts.get(record.broker_order_id)
            if existing is None or existing.outcome is not None:
                continue  # settle once, credit once
            self._contracts[record.broker_order_id] = record
            balance, _ = self.balance(record.account_id)
            self._balances[record.account_id] = round(balance + credit, 8)

    def get(self, broker_order_id: str) -> ContractRecord | None:
        return self._contracts.get(broker_order_id)

    def by_client(self, client_req_id: str) -> ContractRecord | None:
        broker_id = self._by_client.get(client_req_id)
        return None if broker_id is None else self._contracts[broker_id]

    def open_contracts(self, account_id: str | None = None) -> list[ContractRecord]:
        return [
            c
            for c in self._contracts.values()
            if c.outcome is None and (account_id is None or c.account_id == account_id)
        ]


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


_SETTLE = (
    update(_CONTRACTS)
    .where(
        _CONTRACTS.c.broker_order_id == bindparam("b_broker"),
        _CONTRACTS.c.outcome.is_(None),
    )
    .values(
        entry_price=bindparam("b_entry"),
        exit_price=bindparam("b_exit"),
        outcome=bindparam("b_outcome"),
        pnl=bindparam("b_pnl"),
        settled_at=bindparam("b_settled"),
    )
)
_CREDIT = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.account_id == bindparam("b_account"))
    .values(balance=_ACCOUNTS.c.balance + bindparam("b_credit", type_=_ACCOUNTS.c.balance.type))
)


def _settle_row(record: ContractRecord) -> dict[str, Any]:
    assert record.outcome is not None and record.settled_ts is not None
    return {
        "b_broker": record.broker_order_id,
        "b_entry": record.entry_price,
        "b_exit": record.exit_price,
        "b_outcome": record.outcome,
        "b_pnl": record.pnl,
        "b_settled": _dt(record.settled_ts),
    }


def _record(row: PaperContract | Row[Any]) -> ContractRecord:
    return ContractRecord(
        broker_order_id=row.broker_order_id,
        client_req_id=row.client_req_id,
        account_id=row.account_id,
        instrument=row.instrument,
        direction=Direction(row.direction),
        stake=float(row.stake),
        payout_pct=float(row.payout_pct),
        duration_s=int(row.duration_s),
        accepted_ts=row.accepted_at.timestamp(),
        expires_ts=row.expires_at.timestamp(),
        entry_price=row.entry_price,
        exit_price=row.exit_price,
        outcome=None if row.outcome is None else Outcome(row.outcome),
        pnl=None if row.pnl is None else float(row.pnl),
        settled_ts=_ts(row.settled_at),
    )


class SqlPaperBook:
    """A :class:`PaperBook` in the ``paper_accounts`` / ``paper_contracts`` tables.

    Every write is one short transaction of SQLAlchemy Core statements (no ORM unit of
    work): opening or settling a contract costs a few hundred microseconds on SQLite.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        starting_balance: float = 10_000.0,
        currency: str = "USD",
    ) -> None:
        self._sessions = sessions
        bind = sessions.kw.get("bind")
        if bind is None:
            raise ValueError("SqlPaperBook needs a sessionmaker bound to an engine")
        self._engine: Engine = bind
        self._starting = starting_balance
        self._currency = currency

    def _ensure_account(self, connection: Connection, account_id: str) -> None:
        exists = connection.execute(
            select(_ACCOUNTS.c.account_id).where(_ACCOUNTS.c.account_id == account_id)
        ).first()
        if exists is None:
            connection.execute(
                insert(_ACCOUNTS).values(
                    account_id=account_id,
                    currency=self._currency,
                    balance=self._starting,
                    start_of_day_balance=self._starting,
                )
            )

    def balance(self, account_id: str) -> tuple[float, str]:
        with translate_storage_errors(), self._engine.begin() as connection:
            self._ensure_account(connection, account_id)
            row = connection.execute(
                select(_ACCOUNTS.c.balance, _ACCOUNTS.c.currency).where(
                    _ACCOUNTS.c.account_id == account_id
                )
            ).one()
            return float(row.balance), row.currency

    def open_contract(self, record: ContractRecord) -> None:
        try:
            with translate_storage_errors(), self._engine.begin() as connection:
                self._ensure_account(connection, record.account_id)
                debited = connection.execute(
                    update(_ACCOUNTS)
                    .where(
                        _ACCOUNTS.c.account_id == record.account_id,
                        _ACCOUNTS.c.balance >= record.stake,
                    )
                    .values(balance=_ACCOUNTS.c.balance - record.stake)
                )
                if debited.rowcount != 1:
                    balance = connection.execute(
                        select(_ACCOUNTS.c.balance).where(
                            _ACCOUNTS.c.account_id == record.account_id
                        )
                    ).scalar_one()
                    raise InsufficientFunds(f"balance {float(balance):g} < stake {record.stake:g}")
                connection.execute(
                    insert(_CONTRACTS).values(
                        client_req_id=record.client_req_id,
                        broker_order_id=record.broker_order_id,
                        account_id=record.account_id,
                        instrument=record.instrument,
                        direction=record.direction,
                        stake=record.stake,
                        payout_pct=record.payout_pct,
                        duration_s=record.duration_s,
                        accepted_at=_dt(record.accepted_ts),
                        expires_at=_dt(record.expires_ts),
                    )
                )
        except exc.IntegrityError as error:
            raise DuplicateContract(record.client_req_id) from error

    def set_entry(self, broker_order_id: str, entry_price: float) -> None:
        with translate_storage_errors(), self._engine.begin() as connection:
            connection.execute(
                update(_CONTRACTS)
                .where(_CONTRACTS.c.broker_order_id == broker_order_id)
                .values(entry_price=entry_price)
            )

    def settle_many(self, settled: Sequence[tuple[ContractRecord, float]]) -> None:
        """One transaction: the contracts still open are settled (one executemany) and
        credited (another); a contract settled already is neither settled nor credited
        again."""
        if not settled:
            return
        by_id = {record.broker_order_id: (record, credit) for record, credit in settled}
        with translate_storage_errors(), self._engine.begin() as connection:
            still_open = connection.execute(
                select(_CONTRACTS.c.broker_order_id)
                .where(
                    _CONTRACTS.c.broker_order_id.in_(list(by_id)),
                    _CONTRACTS.c.outcome.is_(None),
                )
                # PostgreSQL: no other writer settles (and credits) them meanwhile; a
                # SQLite WAL writer whose read went stale fails instead of crediting twice
                .with_for_update()
            ).scalars()
            due = [by_id[broker_id] for broker_id in still_open]
            if not due:
                return
            connection.execute(_SETTLE, [_settle_row(record) for record, _ in due])
            connection.execute(
                _CREDIT, [{"b_account": r.account_id, "b_credit": credit} for r, credit in due]
            )

    def get(self, broker_order_id: str) -> ContractRecord | None:
        return self._one(_CONTRACTS.c.broker_order_id == broker_order_id)

    def by_client(self, client_req_id: str) -> ContractRecord | None:
        return self._one(_CONTRACTS.c.client_req_id == client_req_id)

    def _one(self, condition: ColumnElement[bool]) -> ContractRecord | None:
        with translate_storage_errors(), self._engine.connect() as connection:
            row = connection.execute(select(_CONTRACTS).where(condition)).first()
            return None if row is None else _record(row)

    def open_contracts(self, account_id: str | None = None) -> list[ContractRecord]:
        statement = select(PaperContract).where(PaperContract.outcome.is_(None))
        if account_id is not None:
            statement = statement.where(PaperContract.account_id == account_id)
        statement = statement.order_by(PaperContract.accepted_at, PaperContract.id)
        with translate_storage_errors(), self._sessions() as session:
            return [_record(row) for row in session.scalars(statement)]
