"""A graceful restart with orders in flight on several accounts: each account's orders
must be reconciled against *its own* broker.

The engine is stopped while 1-minute orders wait for their results (stored CONFIRM),
and a new engine starts on the same database and broker books. With one account that
works; with several, every account's executor currently reconciles *all* stored
non-terminal orders against its own connector, so another account's live order is
declared unknown and FAILED (abort, pnl 0) while its broker holds the stake and later
settles it — storage and broker disagree.
"""

from __future__ import annotations

from pathlib import Path

from moonlight.core.config import load_config
from moonlight.core.plugins import PluginHost
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from tests.chaos.support import (
    START,
    drain,
    mocks,
    non_terminal,
    start_engine,
    verdict,
    write_config,
)


async def restart_with_orders_in_flight(tmp_path: Path, host: PluginHost, accounts: int) -> None:
    path = write_config(tmp_path, accounts=accounts, state_dir=tmp_path)
    clock = FastForwardClock(START)
    first = await start_engine(path, host, clock)
    await clock.sleep_until(START + 5 * 60 + 20)
    await first.stop("restart")
    in_flight = non_terminal(first.sessions)
    assert in_flight >= accounts  # 1-minute orders of every account wait for results

    second = Engine.create(
        load_config(path, registry=host.registry), host, clock=clock, snapshots=False
    )
    await second.start()
    try:
        await clock.sleep_until(clock.now() + 2 * 60)
        await drain(second)
        found = verdict(second.sessions, mocks(second))
        found.assert_clean()
        assert found.failed == 0
    finally:
        await second.stop("test finished")


async def test_one_account_restart_reconciles_every_order(tmp_path: Path, host: PluginHost) -> None:
    await restart_with_orders_in_flight(tmp_path, host, accounts=1)


async def test_several_accounts_restart_reconciles_each_against_its_broker(
    tmp_path: Path, host: PluginHost
) -> None:
    await restart_with_orders_in_flight(tmp_path, host, accounts=3)
