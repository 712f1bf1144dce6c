"""An account's mode is enforced by the engine, not trusted to options; one failing account
does not stop the others.

Issue 13: with ``mode: demo`` and connector options that selected the real account, the
engine placed 9 deals on the real account. Issue 14 item 6: one account's auth failure
aborted every account's start. The broker double here is a :class:`MockConnector` that
can be configured to *lie*: its options declare one account kind (what ``config check``
sees) while the broker reports another (what the engine must believe), it can refuse the
login or be unreachable, and a test can move it onto another kind of account behind a
reconnect. Every deal it accepts is recorded with the kind of account it landed on.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from sqlalchemy import select

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.connectors.contract import AccountKind, AuthFailed
from moonlight.core.connectors.mock import MockConnector
from moonlight.core.connectors.plugin import MockConnectorConfig
from moonlight.core.orders import OrderState
from moonlight.core.plugins import ComponentSpec, PluginHost, build_plugin_host, hookimpl
from moonlight.core.runtime.account_halts import AUTH_FAILED, BROKER_UNREACHABLE, HALTED
from moonlight.core.runtime.account_mode import MODE_MISMATCH
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.control import EngineControl
from moonlight.core.runtime.engine import Engine
from moonlight.core.storage import models
from tests.chaos.support import START, seed_calibration
from tests.runtime.support import make_config

DOUBLE = "broker-double"


class BrokerDoubleConfig(MockConnectorConfig):
    """The mock's options, plus what the broker behind them really does."""

    broker_kind: AccountKind | None = Field(
        default=None, description="What the broker reports (None: what the options say)."
    )
    login: str = Field(default="ok", description="ok | refused | unreachable")


class BrokerDouble(MockConnector):
    """A mock broker that may refuse the login or be unreachable; records every deal."""

    def __init__(self, *, login: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.login = login
        #: (account kind at the moment of acceptance, account id, client_req_id)
        self.deals: list[tuple[AccountKind, str, str]] = []
        self.on_event = self._record

    def _record(self, name: str, client_req_id: str) -> None:
        if name == "accepted":
            account_id = client_req_id.split(":", 1)[0]
            self.deals.append((self.account_kind, account_id, client_req_id))

    async def connect(self) -> None:
        if self.login == "refused":
            raise AuthFailed("login refused: token expired")
        if self.login == "unreachable":
            raise ConnectionRefusedError(111, "connection refused by broker.example")
        await super().connect()

    def move_to(self, kind: AccountKind) -> None:
        """The session lands on another kind of account behind a reconnect."""
        self.account_kind = kind
        self.drop_connection()


class DoublePlugin:
    """Registers the double; remembers every instance by its seed (one seed per account)."""

    def __init__(self) -> None:
        self.built: dict[int, BrokerDouble] = {}

    @hookimpl
    def moonlight_register_connectors(self) -> Sequence[ComponentSpec]:
        return [
            ComponentSpec(DOUBLE, self.make, "lying mock broker", config_model=BrokerDoubleConfig)
        ]

    def make(self, config: BrokerDoubleConfig, *, clock: Any = None, **_: Any) -> BrokerDouble:
        double = BrokerDouble(
            login=config.login,
            seed=config.seed,
            clock=clock,
            payout_pct=config.payout_pct,
            account_kind=config.broker_kind or config.account_kind,
        )
        self.built[config.seed] = double
        return double


def account(
    account_id: str, mode: str, seed: int, *, connector: str = DOUBLE, **options: Any
) -> dict[str, Any]:
    return {
        "id": account_id,
        "connector": connector,
        "mode": mode,
        "products": ["EURUSD", "GBPUSD"],
        "timeframes": ["1m"],
        "max_stake": 5.0,
        "connector_options": {"seed": seed, "payout_pct": 85.0, **options}
        if connector == DOUBLE
        else options,
    }


@pytest.fixture
def plugin() -> DoublePlugin:
    return DoublePlugin()


@pytest.fixture
def host(plugin: DoublePlugin) -> PluginHost:
    return build_plugin_host(extra_plugins=[("double", plugin)])


async def started(config: MoonlightConfig, host: PluginHost) -> Engine:
    engine = Engine.create(config, host, clock=FastForwardClock(START), snapshots=False)
    seed_calibration(engine.sessions)
    await engine.start()
    return engine


def stored_orders(engine: Engine) -> list[models.Order]:
    with engine.sessions() as session:
        return list(session.scalars(select(models.Order)))


def failure_reasons(engine: Engine, account_id: str) -> list[str]:
    with engine.sessions() as session:
        rows = session.execute(
            select(models.Result.reason)
            .join(models.Order, models.Result.order_id == models.Order.id)
            .where(models.Order.account_id == account_id, models.Order.state == OrderState.FAILED)
        ).all()
    return [reason or "" for (reason,) in rows]


def critical_alarms(engine: Engine) -> list[tuple[str, str]]:
    with engine.sessions() as session:
        rows = session.execute(
            select(models.Alarm.code, models.Alarm.scope).where(models.Alarm.level == "critical")
        ).all()
    return [(code, scope) for code, scope in rows]


@pytest.mark.parametrize(
    ("failing", "code", "says"),
    [
        ({"login": "refused"}, AUTH_FAILED, "token expired"),
        ({"login": "unreachable"}, BROKER_UNREACHABLE, "connection refused"),
        ({"broker_kind": "real"}, MODE_MISMATCH, "broker reports a real account"),
    ],
)
async def test_one_failing_account_is_halted_and_the_other_trades(
    tmp_path: Path,
    host: PluginHost,
    plugin: DoublePlugin,
    failing: dict[str, Any],
    code: str,
    says: str,
) -> None:
    config = make_config(
        tmp_path, [account("good", "demo", 1), account("bad", "demo", 2, **failing)]
    )
    engine = await started(config, host)
    try:
        await engine.clock.sleep_until(START + 10 * 60 + 5)
        assert list(engine.accounts) == ["good"]
        halt = engine.halts.get("bad")
        assert halt is not None and (halt.state, halt.code) == (HALTED, code)
        assert says in halt.reason
        assert engine.halts.get("good") is None
        assert (code, "acc:bad") in critical_alarms(engine)
        status = await EngineControl(engine).status()  # what /status shows the operator
        assert [(h.account_id, h.code) for h in status.halted_accounts] == [("bad", code)]
        assert [(a.id, a.trading_allowed) for a in status.accounts] == [("good", True)]
        assert status.accounts[0].trading_state != "HALTED"
        # the healthy account traded; nothing at all reached the failing account's broker
        assert plugin.built[1].deals
        assert plugin.built[2].deals == []
        assert plugin.built[2].calls.get("place_order", 0) == 0
        assert {o.account_id for o in stored_orders(engine)} == {"good"}
    finally:
        await engine.stop("test finished")


async def test_a_demo_account_never_deals_on_a_real_account_through_any_combination(
    tmp_path: Path, host: PluginHost, plugin: DoublePlugin
) -> None:
    """Every combination of what the mock's options declare, what the broker really is,
    and whether (and when) a reconnect lands the session on a real account — all in one
    engine, one account per combination. Not one deal of a demo account is real."""
    rng = random.Random(13)
    combos = [
        (declared, actual, switch)
        for declared in (AccountKind.DEMO, AccountKind.REAL)
        for actual in (AccountKind.DEMO, AccountKind.REAL)
        for switch in (None, "early", "late")
    ]
    accounts = [
        account(
            f"demo{i}",
            "demo",
            100 + i,
            account_kind=declared.value,
            broker_kind=actual.value,
        )
        for i, (declared, actual, _) in enumerate(combos)
    ]
    engine = await started(make_config(tmp_path, accounts), host)
    switches = {
        f"demo{i}": START + (rng.uniform(120, 300) if when == "early" else rng.uniform(600, 900))
        for i, (_, _, when) in enumerate(combos)
        if when is not None
    }
    try:
        for at in sorted(set(switches.values())):
            await engine.clock.sleep_until(at)
            for account_id, switch_at in switches.items():
                if switch_at == at and account_id in engine.accounts:
                    broker = engine.accounts[account_id].broker
                    assert isinstance(broker, BrokerDouble)
                    broker.move_to(AccountKind.REAL)
        await engine.clock.sleep_until(START + 20 * 60 + 5)
        deals = [deal for double in plugin.built.values() for deal in double.deals]
        assert [d for d in deals if d[0] is not AccountKind.DEMO] == []
        started_ids = set(engine.accounts)
        for i, (_, actual, switch) in enumerate(combos):
            account_id = f"demo{i}"
            if actual is AccountKind.REAL:
                assert account_id not in started_ids
                assert engine.halts.get(account_id).code == MODE_MISMATCH  # type: ignore[union-attr]
            elif switch is None:
                assert engine.halts.get(account_id) is None
                assert any(d[1] == account_id for d in deals)  # it did trade, on demo
            else:  # it traded on demo, then its first order after the reconnect failed
                assert engine.halts.get(account_id).code == MODE_MISMATCH  # type: ignore[union-attr]
                assert not engine.accounts[account_id].executor.trading_allowed
                assert any(
                    "broker reports a real account" in r
                    for r in failure_reasons(engine, account_id)
                )
    finally:
        await engine.stop("test finished")


async def test_a_reconnect_onto_the_wrong_account_fails_the_order_halts_and_alarms(
    tmp_path: Path, host: PluginHost, plugin: DoublePlugin
) -> None:
    config = make_config(
        tmp_path,
        [
            account("flipper", "demo", 1),
            account("real-one", "live", 2, account_kind="real"),
            account("steady", "demo", 3),
        ],
    )
    engine = await started(config, host)
    clock = engine.clock
    flipper, real_one, steady = (plugin.built[seed] for seed in (1, 2, 3))
    try:
        await clock.sleep_until(START + 5 * 60 + 5)
        assert flipper.deals and real_one.deals  # both traded on the right kind of account
        assert {kind for kind, _, _ in real_one.deals} == {AccountKind.REAL}
        flipper.move_to(AccountKind.REAL)
        real_one.move_to(AccountKind.DEMO)  # a live account must not drift onto demo either
        before = {name: len(b.deals) for name, b in (("f", flipper), ("r", real_one))}
        steady_before = len(steady.deals)
        await clock.sleep_until(START + 10 * 60 + 5)
        assert len(flipper.deals) == before["f"] and len(real_one.deals) == before["r"]
        assert len(steady.deals) > steady_before  # the other account traded on
        for account_id, found in (("flipper", "a real account"), ("real-one", "a demo account")):
            halt = engine.halts.get(account_id)
            assert halt is not None and halt.code == MODE_MISMATCH
            assert not engine.accounts[account_id].executor.trading_allowed
            assert (MODE_MISMATCH, f"acc:{account_id}") in critical_alarms(engine)
            reasons = failure_reasons(engine, account_id)
            assert any(f"broker reports {found}" in r and "nothing was sent" in r for r in reasons)
        # An operator resumes while the broker is still wrong: checked again, refused again.
        executor = engine.accounts["flipper"].executor
        executor.resume_trading()
        await clock.sleep_until(START + 13 * 60 + 5)
        assert len(flipper.deals) == before["f"]
        assert not executor.trading_allowed
        # Back on demo behind another reconnect, and resumed: trades, and the halt lifts.
        flipper.move_to(AccountKind.DEMO)
        await clock.sleep_until(START + 14 * 60)
        executor.resume_trading()
        await clock.sleep_until(START + 20 * 60 + 5)
        assert len(flipper.deals) > before["f"]
        assert engine.halts.get("flipper") is None
        assert {kind for kind, _, _ in flipper.deals} == {AccountKind.DEMO}
    finally:
        await engine.stop("test finished")


async def test_paper_orders_never_reach_the_connector_and_the_paper_book_is_not_demo(
    tmp_path: Path, host: PluginHost, plugin: DoublePlugin
) -> None:
    """``paper`` on a real account's connection takes its prices only; ``demo`` or ``live``
    on the paper connector is refused at start (the paper book is neither)."""
    config = make_config(
        tmp_path,
        [
            account("paper-on-real", "paper", 1, account_kind="real"),
            account("demo-on-paper", "demo", 0, connector="paper"),
            account("live-on-paper", "live", 0, connector="paper"),
        ],
    )
    engine = await started(config, host)
    try:
        await engine.clock.sleep_until(START + 10 * 60 + 5)
        assert list(engine.accounts) == ["paper-on-real"]
        for account_id in ("demo-on-paper", "live-on-paper"):
            halt = engine.halts.get(account_id)
            assert halt is not None and halt.code == MODE_MISMATCH
            assert "broker reports a paper account" in halt.reason
        real = plugin.built[1]
        assert real.calls.get("place_order", 0) == 0 and real.deals == []
        orders = stored_orders(engine)
        assert orders and {o.account_id for o in orders} == {"paper-on-real"}
    finally:
        await engine.stop("test finished")
