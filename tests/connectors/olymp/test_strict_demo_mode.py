"""Issue 13: ``mode: demo`` cannot place a single deal on a real Olymp account.

Every combination of the connector options that select an account — ``allow_real_account``,
``default_group``, an ``accounts`` entry naming a group and/or a broker id (demo or
real), a MoonLight account id that *is* a real broker id, the broker listing its demo
account first or last — is started through the whole engine (config check, connector,
mode gate, executor) against the strict fake broker, which routes an order by its
account id alone. Where the engine starts, an order is forced through the account's
executor. Across all of them the broker's book must hold no deal on a real account,
while the combinations that really are demo do trade. The same holds when the broker
swaps the account kinds behind a reconnect.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from moonlight.core.orders import OrderState
from moonlight.core.plugins import PluginHost, build_plugin_host
from moonlight.core.runtime.clock import WallClock
from moonlight.core.runtime.engine import Engine
from tests.chaos.support import start_engine
from tests.execution.support import intent
from tests.support.olymp_fake import DEMO_ID, REAL_IDS, StrictOlympBroker
from tests.support.olymp_rig import strict_config

SELECTIONS: list[dict[str, Any] | None] = [
    None,
    {"group": "demo"},
    {"group": "real"},
    {"account_id": REAL_IDS[0], "group": "demo"},
    {"account_id": REAL_IDS[0], "group": "real"},
    {"account_id": DEMO_ID, "group": "real"},
    {"account_id": DEMO_ID, "group": "demo"},
]
COMBOS = list(
    itertools.product(
        [False, True],  # allow_real_account
        ["demo", "real"],  # default_group
        SELECTIONS,  # accounts[<id>]
        ["acc-1", REAL_IDS[1]],  # the MoonLight account id
    )
)


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return build_plugin_host()


def write_config(
    where: Path, broker: StrictOlympBroker, account_id: str, options: dict[str, Any]
) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    data = {
        "data_dir": str(where / "data"),
        "accounts": [
            {
                "id": account_id,
                "connector": "olymp",
                "mode": "demo",
                "products": ["EURUSD"],
                "timeframes": ["1m"],
                "max_stake": 5.0,
                "connector_options": options,
            }
        ],
        "strategies": [{"name": "ema_rsi"}, {"name": "supertrend_adx"}],
        "risk": {
            "threshold": 0.5,
            "margin": 0.0,
            "sizing": {"policy": "fixed", "params": {"stake_amount": 1.0}},
        },
    }
    path = where / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def try_to_trade(engine: Engine, account_id: str, cid: str) -> str:
    runtime = engine.accounts.get(account_id)
    if runtime is None:
        halt = engine.halts.get(account_id)
        return f"halted {halt.code if halt else '?'}"
    order = intent(cid, account_id=account_id, stake=1.0, duration_s=1)
    report = await asyncio.wait_for(runtime.executor.execute(order), 60)
    return report.state.value if report.state is OrderState.SETTLED else str(report.reason)


async def attempt(
    tmp_path: Path, host: PluginHost, broker: StrictOlympBroker, index: int, combo: Any
) -> str:
    allow, default_group, selection, account_id = combo
    options = strict_config(broker).model_dump(mode="json")
    options.update(allow_real_account=allow, default_group=default_group)
    options["accounts"] = {} if selection is None else {account_id: selection}
    path = write_config(tmp_path / f"combo-{index}", broker, account_id, options)
    try:
        engine = await start_engine(path, host, WallClock())
    except Exception as error:  # refused by config check or at start: nothing traded
        return f"refused {type(error).__name__}"
    try:
        return await try_to_trade(engine, account_id, f"combo-{index}")
    finally:
        await engine.stop("combo done")


@pytest.mark.parametrize("demo_first", [False, True])
async def test_no_option_combination_trades_a_real_account(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch, demo_first: bool
) -> None:
    monkeypatch.setenv("MOONLIGHT_SECRET_OLYMP_ACCESS_TOKEN", "access-1")
    async with StrictOlympBroker(seed=66, demo_first=demo_first) as broker:
        gate = asyncio.Semaphore(4)

        async def one(index: int, combo: Any) -> str:
            async with gate:
                return await attempt(tmp_path, host, broker, index, combo)

        outcomes = await asyncio.gather(*(one(i, c) for i, c in enumerate(COMBOS)))
        print(f"\ndemo_first={demo_first}: {sorted(Counter(outcomes).items())}")
        real = broker.deals_on("real")
        assert real == [], [(COMBOS[i], o) for i, o in enumerate(outcomes) if o in ("SETTLED",)]
        assert outcomes.count("SETTLED") >= 4, outcomes  # the demo selections do trade
        assert len(broker.deals_on("demo")) == outcomes.count("SETTLED")


async def test_kinds_swapped_behind_a_reconnect_trade_nothing_real(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOONLIGHT_SECRET_OLYMP_ACCESS_TOKEN", "access-1")
    async with StrictOlympBroker(seed=67) as broker:
        options = strict_config(broker).model_dump(mode="json")
        options["accounts"] = {"acc-1": {"account_id": DEMO_ID, "group": "demo"}}
        engine = await start_engine(
            write_config(tmp_path, broker, "acc-1", options), host, WallClock()
        )
        try:
            assert await try_to_trade(engine, "acc-1", "before") == "SETTLED"
            broker.swap_groups()  # the demo id is a real account from now on
            await broker.drop_all()
            outcome = await try_to_trade(engine, "acc-1", "after")
        finally:
            await engine.stop("done")
        assert outcome != "SETTLED"
        assert broker.deals_on("real") == []
        assert [d.account_id for d in broker.deals.values()] == [DEMO_ID]
