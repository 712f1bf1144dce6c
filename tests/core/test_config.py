"""Configuration: fail-closed validation, every problem named, precedence, no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from moonlight.core.cli.app import cli
from moonlight.core.config import ConfigError, load_config
from moonlight.core.config.loader import find_secret_keys
from moonlight.core.plugins import build_plugin_host
from tests.core import plugin_fixtures as fx

MINIMAL = """
accounts:
  - id: acc1
    connector: loop
    products: [EURUSD]
    timeframes: [1m]
strategies:
  - name: echo
    params: {period: 7}
"""


@pytest.fixture
def registry():
    host = build_plugin_host(
        environ={"MOONLIGHT_DISABLE_PLUGINS": "*"}, extra_plugins=[("good", fx.GoodPlugin())]
    )
    return host.registry


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def issue_paths(exc: ConfigError) -> list[str]:
    return [issue.path for issue in exc.issues]


def test_minimal_config_validates_against_plugins(tmp_path: Path, registry) -> None:
    config = load_config(write(tmp_path, MINIMAL), registry=registry)
    assert config.accounts[0].mode == "paper"
    assert config.server.host == "127.0.0.1" and config.server.port == 8765
    assert config.storage_url() == "sqlite:///data/moonlight.db"


def test_three_different_errors_are_all_reported(tmp_path: Path, registry) -> None:
    text = MINIMAL.replace("timeframes: [1m]", "timeframes: [7x]") + (
        "server: {port: 70000}\nrisk: {permit_min_pct: 90, permit_max_pct: 80}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), registry=registry)
    paths = issue_paths(caught.value)
    assert "accounts[0].timeframes[0]" in paths
    assert "server.port" in paths
    assert "risk" in paths
    message = str(caught.value)
    assert "7x" in message and "permit_min_pct (90.0) must not exceed" in message


def test_config_check_cli_reports_all_and_exits_nonzero(tmp_path: Path) -> None:
    text = (
        "server: {port: 0, host: 10.1.2.3}\n"
        "accounts:\n  - {id: 'bad id!', connector: nope, products: [], timeframes: [1m]}\n"
        "telemetry: {log_level: LOUD}\n"
    )
    result = CliRunner().invoke(cli, ["config", "check", str(write(tmp_path, text))])
    assert result.exit_code == 1
    for expected in (
        "server.port",
        "accounts[0].id",
        "accounts[0].connector",
        "accounts[0].products",
        "telemetry.log_level",
    ):
        assert expected in result.output
    assert "no plugin provides connector 'nope'" in result.output


def test_unknown_plugin_names_and_bad_plugin_params_fail_closed(tmp_path: Path, registry) -> None:
    text = (
        MINIMAL.replace("connector: loop", "connector: olymp-typo").replace(
            "{period: 7}", "{period: 0, colour: red}"
        )
        + "risk:\n  sizing: {policy: martingale}\nplugins: {nosuch: {a: 1}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), registry=registry)
    text_of = {issue.path: issue.message for issue in caught.value.issues}
    assert "no plugin provides connector 'olymp-typo'" in text_of["accounts[0].connector"]
    assert "period" in text_of["strategies[0].params"]
    assert "colour" in text_of["strategies[0].params"]
    assert "martingale" in text_of["risk.sizing.policy"]
    assert "nosuch" in text_of["plugins"]


@pytest.mark.parametrize(
    "snippet",
    [
        "password: hunter2\n",
        "accounts:\n  - id: a\n    connector: loop\n    products: [X]\n    timeframes: [1m]\n"
        "    connector_options: {api_token: abc}\n",
        "plugins:\n  notifier: {smtp: {Password: x}}\n",
        "storage: {session_cookie: x}\n",
    ],
)
def test_secret_looking_keys_are_refused_anywhere(tmp_path: Path, snippet: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, snippet))
    secret_issues = [i for i in caught.value.issues if "moonlight secrets set" in i.message]
    assert len(secret_issues) == 1


def test_secret_name_references_are_allowed() -> None:
    assert find_secret_keys({"connector_options": {"token_secret_name": "olymp"}}) == []


def test_password_in_storage_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must not contain a password"):
        load_config(write(tmp_path, "storage: {url: 'postgresql://u:pw@localhost/db'}\n"))


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line 3"):
        load_config(write(tmp_path, "server:\n  port: [1, 2\n"))


def test_unknown_top_level_key_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "serverr: {port: 1}\n"))
    assert caught.value.issues[0].path == "serverr"
    assert "unknown key" in caught.value.issues[0].message


def test_precedence_overrides_env_file_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path, "server: {port: 9001}\ntelemetry: {log_level: DEBUG}\ndata_dir: from-file\n"
    )
    # file beats defaults
    config = load_config(path)
    assert config.server.port == 9001 and config.telemetry.log_level == "DEBUG"
    assert config.risk.threshold == 0.55  # default kept
    # environment beats file, nested with __, and only the nested key changes
    monkeypatch.setenv("MOONLIGHT_SERVER__PORT", "9002")
    monkeypatch.setenv("MOONLIGHT_STORAGE__URL", "sqlite:///elsewhere.db")
    config = load_config(path)
    assert config.server.port == 9002 and config.server.host == "127.0.0.1"
    assert config.storage_url() == "sqlite:///elsewhere.db"
    assert str(config.data_dir) == "from-file"
    # runtime overrides beat the environment
    config = load_config(path, overrides={"server": {"port": 9003}})
    assert config.server.port == 9003
    assert config.telemetry.log_level == "DEBUG"


def test_invalid_environment_value_is_reported_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOONLIGHT_SERVER__PORT", "not-a-port")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "data_dir: data\n"))
    assert issue_paths(caught.value) == ["server.port"]


def test_configs_are_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "data_dir: data\n"))
    with pytest.raises(Exception, match="frozen"):
        config.server.port = 1  # type: ignore[misc]


def test_strategy_needing_a_missing_indicator_fails_closed(tmp_path: Path) -> None:
    host = build_plugin_host(environ={"MOONLIGHT_DISABLE_PLUGINS": "indicators"})
    path = write(tmp_path, "strategies:\n  - name: ema_rsi\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, registry=host.registry)
    assert caught.value.issues[0].path == "strategies[0]"
    assert "strategy 'ema_rsi' needs indicator 'ema'" in caught.value.issues[0].message
