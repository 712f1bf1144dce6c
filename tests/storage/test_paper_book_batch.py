"""The paper book settles an instant's contracts in one transaction, each once.

Runs on SQLite and, when ``MOONLIGHT_TEST_PG_URL`` is set, on PostgreSQL (where the
still-open contracts are read ``FOR UPDATE``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, event

from moonlight.core.connectors.paper_book import ContractRecord, SqlPaperBook
from moonlight.core.orders import Direction, Outcome
from moonlight.core.storage.engine import session_factory

T = 1_767_600_000.0


def contract(n: int, account: str) -> ContractRecord:
    return ContractRecord(
        broker_order_id=f"P-{n}",
        client_req_id=f"c-{n}",
        account_id=account,
        instrument="EURUSD",
        direction=Direction.UP,
        stake=10.0,
        payout_pct=85.0,
        duration_s=60,
        accepted_ts=T,
        expires_ts=T + 60,
    )


def settled(record: ContractRecord, outcome: Outcome, pnl: float) -> ContractRecord:
    return replace(
        record, entry_price=1.1, exit_price=1.2, outcome=outcome, pnl=pnl, settled_ts=T + 60
    )


def test_an_instants_settlements_are_one_transaction_and_credit_once(engine: Engine) -> None:
    book = SqlPaperBook(session_factory(engine), starting_balance=1_000.0)
    records = [contract(n, "a" if n % 2 else "b") for n in range(6)]
    for record in records:
        book.open_contract(record)
    commits: list[Any] = []
    event.listen(engine, "commit", commits.append)

    batch = [(settled(r, Outcome.WIN, 8.5), 18.5) for r in records[:5]]
    book.settle_many(batch)
    assert len(commits) == 1
    # settling again (a repeated pump, a duplicate in the batch) credits nothing more
    book.settle_many([batch[0], batch[0], (settled(records[5], Outcome.LOSE, -10.0), 0.0)])

    assert book.balance("a")[0] == pytest.approx(1_000.0 - 30.0 + 2 * 18.5)  # P-1, P-3 won
    assert book.balance("b")[0] == pytest.approx(1_000.0 - 30.0 + 3 * 18.5)  # P-0, P-2, P-4
    assert book.open_contracts() == []
    again = book.get("P-0")
    assert again is not None and again.outcome is Outcome.WIN and again.pnl == pytest.approx(8.5)
    lost = book.by_client("c-5")
    assert lost is not None and lost.outcome is Outcome.LOSE
