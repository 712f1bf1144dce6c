"""Safety: the endpoint allowlist, the demo default and the real-money gate, tokens from
secrets by name only, and the plugin registration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from moonlight.connectors.deriv import plugin
from moonlight.connectors.deriv.config import DerivConfig
from moonlight.connectors.deriv.endpoints import EndpointNotAllowed, check_url
from moonlight.connectors.deriv.link import LinkState
from moonlight.core.config.loader import find_secret_keys
from moonlight.core.connectors.contract import AuthFailed, Rejected
from moonlight.core.runtime.clock import ScaledClock
from moonlight.core.secrets import SecretsView
from moonlight.core.telemetry.pii import default_redactor
from tests.connectors.deriv.conftest import (
    DEMO_LOGIN,
    DEMO_TOKEN,
    PAT,
    REAL_LOGIN,
    REAL_TOKEN,
    MakeConnector,
    fast_options,
    order,
)
from tests.connectors.deriv.fake_server import FakeDerivServer

# -- allowlist --------------------------------------------------------------------------


def test_the_allowlist_refuses_an_unlisted_host_with_a_clear_error() -> None:
    with pytest.raises(ValidationError) as refused:
        DerivConfig(ws_url="wss://ws.deriv-mirror.example/websockets/v3", app_id=1)
    message = str(refused.value)
    assert "'ws.deriv-mirror.example' is not in allowed_hosts" in message
    assert "ws.derivws.com" in message


def test_defaults_are_the_documented_hosts_over_tls_and_a_demo_account() -> None:
    config = DerivConfig(app_id=1089)
    assert config.ws_url.startswith("wss://ws.derivws.com/")
    assert config.account_type == "demo" and not config.allow_real_account
    assert not config.trades_real_money
    new = DerivConfig(api="new", deriv_account_id="DOT90004580")
    assert new.rest_url == "https://api.derivws.com" and new.symbol_key == "underlying_symbol"


@pytest.mark.parametrize(
    ("url", "kind", "fragment"),
    [
        ("ws://ws.derivws.com/websockets/v3", "ws", "scheme 'ws' refused"),
        ("http://api.derivws.com", "http", "scheme 'http' refused"),
        ("wss://evil.example/websockets/v3", "ws", "not in allowed_hosts"),
        ("wss:///websockets/v3", "ws", "has no host"),
        ("wss://ws.derivws.com.evil.example/x", "ws", "not in allowed_hosts"),
    ],
)
def test_check_url_refusals(url: str, kind: str, fragment: str) -> None:
    with pytest.raises(EndpointNotAllowed, match=fragment):
        check_url(url, ["ws.derivws.com", "api.derivws.com"], purpose="test", kind=kind)


def test_plain_websocket_is_only_accepted_for_loopback_hosts() -> None:
    assert check_url("ws://127.0.0.1:9/x", ["127.0.0.1"], purpose="t", kind="ws")
    assert check_url("wss://WS.DERIVWS.COM/x", ["ws.derivws.com"], purpose="t", kind="ws")


async def test_an_otp_url_off_the_allowlist_is_refused_before_connecting(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    server.faults.otp_url_host = "localhost"  # not in allowed_hosts (["127.0.0.1"])
    connector = make_connector(api="new", deriv_account_id=DEMO_LOGIN, token=PAT)
    with pytest.raises(AuthFailed, match="'localhost' is not in allowed_hosts"):
        await connector.connect()
    assert server.otp_requests == 1 and server.handshakes == []
    assert connector.state is LinkState.FAILED


# -- demo by default, real money only with the flag ----------------------------------


async def test_a_real_money_order_without_the_flag_is_refused_before_sending(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector(token=REAL_TOKEN)
    await connector.connect()  # market data is fine on a real account
    assert connector.report()["account_kind"] == "real"
    with pytest.raises(Rejected, match="REAL-MONEY account and allow_real_account is false"):
        await connector.place_order(order(clock, "real-1"))
    assert server.calls_of("proposal") == 0 and server.calls_of("buy") == 0
    assert server.contracts == {}
    assert server.accounts[REAL_LOGIN].balance == 10_000.0


async def test_a_real_account_trades_only_with_both_real_settings(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    with pytest.raises(ValidationError, match="needs allow_real_account: true"):
        DerivConfig.model_validate(fast_options(server, account_type="real"))
    connector = make_connector(token=REAL_TOKEN, account_type="real", allow_real_account=True)
    await connector.connect()
    ack = await connector.place_order(order(clock, "real-ok"))
    assert [str(c.contract_id) for c in server.contracts.values()] == [ack.broker_order_id]
    assert server.contracts[int(ack.broker_order_id)].loginid == REAL_LOGIN


async def test_a_demo_token_under_a_real_configuration_is_a_refused_mix_up(
    make_connector: MakeConnector, server: FakeDerivServer, clock: ScaledClock
) -> None:
    connector = make_connector(account_type="real", allow_real_account=True)
    await connector.connect()
    with pytest.raises(Rejected, match="connected to a demo account"):
        await connector.place_order(order(clock, "mixup-1"))
    assert server.calls_of("proposal") == 0 and server.contracts == {}


async def test_the_new_api_refuses_a_real_otp_url_for_a_demo_configuration(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    connector = make_connector(api="new", deriv_account_id=REAL_LOGIN, token=PAT)
    with pytest.raises(AuthFailed, match="opens a real account but account_type is 'demo'"):
        await connector.connect()
    assert server.handshakes == []  # the real socket was never opened


# -- secrets by name, plugin ----------------------------------------------------------


def test_the_token_is_named_in_config_never_stored_there(server: FakeDerivServer) -> None:
    options = fast_options(server)
    assert find_secret_keys({"accounts": [{"connector_options": options}]}) == []
    with pytest.raises(ValidationError, match="api_token"):
        DerivConfig.model_validate({**options, "api_token": DEMO_TOKEN})
    assert DEMO_TOKEN not in DerivConfig.model_validate(options).model_dump_json()


async def test_the_plugin_factory_reads_the_token_from_secrets_by_name(
    server: FakeDerivServer, clock: ScaledClock
) -> None:
    [spec] = plugin.moonlight_register_connectors()
    assert spec.name == "deriv" and spec.config_model is DerivConfig
    config = DerivConfig.model_validate(fast_options(server, api_token_secret_name="deriv_demo"))
    connector = spec.factory(config, secrets={"deriv_demo": DEMO_TOKEN}, clock=clock)
    try:
        await connector.connect()
        assert connector.state is LinkState.READY
    finally:
        await connector.close()


async def test_a_missing_secret_is_an_auth_failure_that_names_it(
    server: FakeDerivServer, clock: ScaledClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOONLIGHT_SECRET_DERIV_NOWHERE", raising=False)
    config = DerivConfig.model_validate(fast_options(server, api_token_secret_name="deriv_nowhere"))
    connector = plugin.make_deriv(config, secrets=SecretsView(), clock=clock)
    try:
        with pytest.raises(AuthFailed, match="deriv_nowhere"):
            await connector.connect()
        assert server.handshakes == []
    finally:
        await connector.close()


async def test_the_token_login_and_otp_are_masked_in_every_log_line(
    make_connector: MakeConnector, server: FakeDerivServer
) -> None:
    legacy = make_connector()
    await legacy.connect()
    new = make_connector(api="new", deriv_account_id=DEMO_LOGIN, token=PAT)
    await new.connect()
    redact = default_redactor().redact
    wire = f'> TEXT \'{{"authorize":"{DEMO_TOKEN}","req_id":1}}\' loginid {DEMO_LOGIN}'
    masked = redact(wire)
    assert DEMO_TOKEN not in masked and DEMO_LOGIN not in masked
    [otp] = [value for value, (_, _, used) in server._otps.items() if used]
    assert otp not in redact(f"connecting to ws://127.0.0.1/ws/demo?otp={otp}")
    assert PAT not in redact(f"POST with {PAT}")
