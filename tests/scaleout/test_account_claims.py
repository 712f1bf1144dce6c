"""AccountClaims on PostgreSQL: one holder per account, all or nothing, freed on release
or when the holder's connection dies; on SQLite nothing to claim."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import create_engine
from sqlalchemy.engine import URL

from moonlight.core.runtime.account_claims import AccountClaimed, AccountClaims, claim_key


def test_a_second_claim_is_refused_until_the_first_is_released(pg_database: URL) -> None:
    first_engine, second_engine = create_engine(pg_database), create_engine(pg_database)
    try:
        first = AccountClaims.acquire(first_engine, ["east", "west"])
        with pytest.raises(AccountClaimed, match=r"account 'west' is already run by another"):
            AccountClaims.acquire(second_engine, ["north", "west"])
        # all or nothing: 'north' was given back when 'west' was refused
        AccountClaims.acquire(first_engine, ["north"]).release()
        first.release()
        first.release()  # idempotent
        AccountClaims.acquire(second_engine, ["east", "west"]).release()
    finally:
        first_engine.dispose()
        second_engine.dispose()


HOLDER = """
import sys, time
from sqlalchemy import create_engine
from moonlight.core.runtime.account_claims import AccountClaims
AccountClaims.acquire(create_engine(sys.argv[1]), ["east"])
print("held", flush=True)
time.sleep(600)
"""


def test_a_killed_holders_claims_are_free(pg_database: URL) -> None:
    url = pg_database.render_as_string(hide_password=False)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    engine = create_engine(pg_database)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(AccountClaimed):
            AccountClaims.acquire(engine, ["east"])
        holder.kill()  # a crash: no release, the OS closes the connection
        holder.wait(timeout=60)
        for _ in range(200):  # PostgreSQL notices the closed socket (bounded wait)
            try:
                AccountClaims.acquire(engine, ["east"]).release()
                break
            except AccountClaimed:
                time.sleep(0.1)
        else:
            pytest.fail("the killed holder's claim was never released")
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=60)  # reaps it and closes its pipe
        engine.dispose()


def test_sqlite_has_nothing_to_claim(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{(tmp_path / 'm.db').as_posix()}")
    try:
        AccountClaims.acquire(engine, ["east"])
        AccountClaims.acquire(engine, ["east"]).release()
    finally:
        engine.dispose()


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=64), st.text(min_size=1, max_size=64))
def test_keys_are_stable_signed_64_bit_and_distinct(a: str, b: str) -> None:
    assert claim_key(a) == claim_key(a)
    assert -(2**63) <= claim_key(a) < 2**63
    if a != b:
        assert claim_key(a) != claim_key(b)
