"""Safety rails: the host allowlist, real-money consent, secrets by name, no token in logs."""

from __future__ import annotations

import logging
import time

import pytest
from pydantic import ValidationError

from moonlight.connectors.olymp import (
    ForbiddenEndpoint,
    OlympConfig,
    OlympConnector,
    RealAccountRefused,
)
from moonlight.connectors.olymp.config import REAL_ACCOUNT_RISK
from moonlight.connectors.olymp.plugin import make_olymp, moonlight_register_connectors
from moonlight.core.config.loader import find_secret_keys
from moonlight.core.connectors.contract import AuthFailed, OrderRequest, Rejected
from moonlight.core.orders import Direction
from tests.connectors.olymp.fake_server import DEMO_ACCOUNT, REAL_ACCOUNT, FakeOlympServer
from tests.connectors.olymp.support import eventually, olymp_config, olymp_connector


def order(account: str, cid: str = "safety-1") -> OrderRequest:
    return OrderRequest(cid, account, "EURUSD", Direction.UP, 10.0, 1, time.time())


def test_defaults_are_the_brief_hosts_and_the_demo_group() -> None:
    config = OlympConfig()
    assert sorted(config.allowed_hosts) == sorted(
        ["ws.olymptrade.com", "api.olymptrade.com", "gw.olymptrade.com", "olymptrade.com"]
    )
    assert config.ws_url.startswith("wss://ws.olymptrade.com/otp?")
    assert config.default_group == "demo" and config.allow_real_account is False
    description = OlympConfig.model_fields["allow_real_account"].description or ""
    assert "client agreement" in description and "REAL-MONEY" in description
    assert description == REAL_ACCOUNT_RISK


@pytest.mark.parametrize(
    "field, url",
    [
        ("ws_url", "wss://evil.example.com/otp"),
        ("ws_url", "wss://ws.olymptrade.com.evil.example/otp"),
        ("api_url", "https://api.olymptrade.co"),
        ("renew_url", "https://phish.example/api/token/renew/web/v1"),
    ],
)
def test_allowlist_refuses_an_unlisted_host(field: str, url: str) -> None:
    with pytest.raises(ValidationError, match="not in allowed_hosts") as info:
        OlympConfig(**{field: url})
    assert field in str(info.value)


def test_plain_text_is_refused_off_loopback() -> None:
    with pytest.raises(ValidationError, match="plain text only to a loopback host"):
        OlympConfig(ws_url="ws://ws.olymptrade.com/otp")


async def test_connector_refuses_an_unlisted_host_before_any_socket(
    server: FakeOlympServer,
) -> None:
    good = olymp_config(server)
    sneaky = good.model_copy(update={"ws_url": server.ws_url.replace("127.0.0.1", "localhost")})
    with pytest.raises(ForbiddenEndpoint, match="'localhost' is not in allowed_hosts"):
        OlympConnector(sneaky, access_token="access-1")
    assert server.upgrades == []


def test_real_account_in_config_needs_the_flag() -> None:
    with pytest.raises(ValidationError, match="real-money account"):
        OlympConfig(accounts={"live": {"account_id": REAL_ACCOUNT, "group": "real"}})
    with pytest.raises(ValidationError, match="needs allow_real_account"):
        OlympConfig(default_group="real")
    OlympConfig(
        allow_real_account=True, accounts={"live": {"account_id": REAL_ACCOUNT, "group": "real"}}
    )


async def test_real_money_order_without_the_flag_is_refused_before_sending(
    olymp: OlympConnector, server: FakeOlympServer
) -> None:
    with pytest.raises(RealAccountRefused, match="REAL-money"):
        await olymp.place_order(order(REAL_ACCOUNT))  # a broker id the e:55 push lists as real
    assert server.received(23) == [] and server.deals == {}


async def test_real_money_order_refused_even_while_disconnected(server: FakeOlympServer) -> None:
    config = olymp_config(server).model_copy(
        update={"default_group": "real"}  # as a hand-built config could say
    )
    connector = OlympConnector(config, access_token="access-1")
    with pytest.raises(RealAccountRefused):
        await connector.place_order(order("acc-1"))
    assert server.upgrades == []


async def test_group_mismatch_is_refused_before_sending(server: FakeOlympServer) -> None:
    connector = olymp_connector(
        server, accounts={"sneaky": {"account_id": REAL_ACCOUNT, "group": "demo"}}
    )
    await connector.connect()
    try:
        with pytest.raises(Rejected, match="is a real account at the broker"):
            await connector.place_order(order("sneaky"))
        assert server.received(23) == []
    finally:
        await connector.close()


async def test_demo_and_real_are_chosen_per_order(server: FakeOlympServer) -> None:
    connector = olymp_connector(
        server,
        allow_real_account=True,
        accounts={
            "practice": {"group": "demo"},
            "live": {"account_id": REAL_ACCOUNT, "group": "real"},
        },
    )
    await connector.connect()
    try:
        await connector.place_order(order("practice", "per-order-demo"))
        await connector.place_order(order("live", "per-order-real"))
        sent = [(d[0]["account_id"], d[0]["group"]) for d in server.received(23)]
        assert sent == [(int(DEMO_ACCOUNT), "demo"), (int(REAL_ACCOUNT), "real")]
        assert {d.group for d in server.deals.values()} == {"demo", "real"}
    finally:
        await connector.close()


def test_config_holds_no_secret_looking_key() -> None:
    dumped = OlympConfig().model_dump(mode="json")
    assert find_secret_keys(dumped) == []


async def test_factory_reads_tokens_by_name(server: FakeOlympServer) -> None:
    config = olymp_config(
        server, access_token_secret_name="ot_access", refresh_token_secret_name="ot_refresh"
    )
    connector = make_olymp(config, secrets={"ot_access": "access-1", "ot_refresh": "refresh-1"})
    await connector.connect()
    try:
        assert connector.tokens.can_renew
        assert "access-1" not in repr(connector.tokens)
    finally:
        await connector.close()
    with pytest.raises(AuthFailed, match="moonlight secrets set ot_access"):
        make_olymp(config, secrets={})
    (spec,) = moonlight_register_connectors()
    assert spec.name == "olymp" and spec.config_model is OlympConfig


async def test_tokens_never_reach_the_logs(
    server: FakeOlympServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = olymp_connector(server)
    await connector.connect()
    try:
        server.valid_access.discard("access-1")
        await server.drop_all(1008, "invalid_token")
        await eventually(lambda: connector.session.stats.renewals == 1)
        await connector.session.wait_ready(5)
    finally:
        await connector.close()
    text = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("tests.")
    )
    assert "renewed" in text and "Cookie: <redacted>" in text  # debug handshake logs exist
    for secret in ("access-1", "refresh-1", "access-r1", "refresh-r1"):
        assert secret not in text
