"""Issue 13: ``mode: demo`` never places a deal on a real Deriv account, whatever the
connector options say -- through the real engine and the real ``deriv`` plugin, against
the strict fake broker (logins ``VRTC…`` are virtual, ``CR…`` real).

Every combination of token (demo or real login), ``account_type``,
``allow_real_account`` and a reconnect that lands the session on the other login is one
account of one engine, all ``mode: demo``. The engine's mode gate (runtime/account_mode)
must refuse to start the accounts whose broker login is real and stop an account whose
session moved to a real login before anything is sent. Orders are then pushed through
every started account's executor; the broker's book must hold no deal on a real login.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest

from moonlight.connectors.deriv.connector import DerivConnector
from moonlight.core.config.models import MoonlightConfig
from moonlight.core.orders import Direction, OrderState
from moonlight.core.plugins import build_plugin_host
from moonlight.core.runtime.account_mode import MODE_MISMATCH
from moonlight.core.runtime.engine import Engine
from tests.connectors.deriv.conftest import eventually
from tests.connectors.deriv.truth import SYMBOL, broker_and_clock, options
from tests.execution.support import intent
from tests.support.deriv_broker import DerivBroker

#: (token login order, account_type, allow_real_account, moved to the other login later)
COMBOS = [
    (first, account_type, allow, moved)
    for first, account_type, allow, moved in itertools.product(
        ("VRTC", "CR"), ("demo", "real"), (False, True), (False, True)
    )
    if not (account_type == "real" and not allow)  # refused by the options' own validation
]


def config(tmp_path: Path, broker: DerivBroker) -> MoonlightConfig:
    accounts: list[dict[str, Any]] = []
    for i, (_, account_type, allow, _) in enumerate(COMBOS):
        connector_options = options(
            broker,
            account_type=account_type,
            allow_real_account=allow,
            api_token_secret_name=f"deriv_combo_{i}",
        )
        accounts.append(
            {
                "id": f"combo{i}",
                "connector": "deriv",
                "mode": "demo",
                "products": [SYMBOL],
                "timeframes": ["1m"],
                "max_stake": 5.0,
                "connector_options": connector_options,
            }
        )
    return MoonlightConfig.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "accounts": accounts,
            "strategies": [{"name": "ema_rsi"}],
            "risk": {"sizing": {"policy": "fixed", "params": {"stake_amount": 1.0}}},
        }
    )


@pytest.mark.slow
async def test_mode_demo_never_deals_on_a_real_deriv_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with broker_and_clock(seed=21) as (broker, clock):
        for i, (first, *_rest) in enumerate(COMBOS):
            token = f"combo-token-{i}"
            demo, real = f"VRTC90{i:04d}", f"CR90{i:04d}"
            broker.add_token(token, *((demo, real) if first == "VRTC" else (real, demo)))
            monkeypatch.setenv(f"MOONLIGHT_SECRET_DERIV_COMBO_{i}", token)
        engine = Engine.create(
            config(tmp_path, broker), build_plugin_host(), clock=clock, snapshots=False
        )
        await engine.start()
        try:
            started = set(engine.accounts)
            for i, (first, *_rest) in enumerate(COMBOS):
                account_id = f"combo{i}"
                if first == "CR":  # the token opens a real login: never started
                    assert account_id not in started
                    halt = engine.halts.get(account_id)
                    assert halt is not None and halt.code == MODE_MISMATCH
            assert started, "no demo combination started"
            # sessions that move to the real login behind a reconnect
            for i, (_, _, _, moved) in enumerate(COMBOS):
                runtime = engine.accounts.get(f"combo{i}")
                if moved and runtime is not None:
                    logins = broker.tokens[f"combo-token-{i}"]
                    logins.reverse()  # the token now opens the real login first
                    connector = runtime.broker
                    assert isinstance(connector, DerivConnector)
                    epoch = connector.connection_epoch
                    await broker.outage(0.0)
                    await eventually(lambda c=connector, e=epoch: c.connection_epoch > e)
            reports = await asyncio.gather(
                *(
                    runtime.executor.execute(
                        intent(
                            f"{account_id}-o{n}",
                            account_id=account_id,
                            instrument=SYMBOL,
                            direction=Direction.UP,
                            stake=1.0 + n,
                            duration_s=15,
                            decided_ts=clock.now(),
                        )
                    )
                    for account_id, runtime in engine.accounts.items()
                    for n in range(2)
                )
            )
        finally:
            await engine.stop("test finished")
        assert broker.deals_on(real=True) == []
        for report in reports:
            i = int(report.client_req_id.split("-")[0].removeprefix("combo"))
            _, account_type, _, moved = COMBOS[i]
            # a demo login under account_type 'real' is refused by the connector itself
            trades = account_type == "demo" and not moved
            assert report.state is (OrderState.SETTLED if trades else OrderState.FAILED)
            if moved and account_type == "real":
                # the connector would accept this real login: the engine's gate refused it
                halt = engine.halts.get(f"combo{i}")
                assert halt is not None and halt.code == MODE_MISMATCH
        assert broker.deals_on(real=False), "the demo accounts traded on their demo logins"
