"""``config check`` refuses every mode/options contradiction it can see before connecting.

Issue 13: with ``mode: demo`` and connector options that selected the real account,
``config check`` printed "demo" and the engine then placed 9 deals on the real account.
A connector config model that implements ``DeclaresAccountKind`` says what account kind
its options select; the account's ``mode`` must agree (paper never contradicts: its
orders go to MoonLight's paper broker). Every contradiction is named at once.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from moonlight.core.cli.app import cli
from moonlight.core.config import ConfigError, load_config
from moonlight.core.connectors.contract import AccountKind, DeclaresAccountKind
from moonlight.core.connectors.plugin import MockConnectorConfig, PaperBrokerConfig
from moonlight.core.plugins import build_plugin_host
from moonlight.core.plugins.registry import Registry
from moonlight.core.runtime.account_mode import REQUIRED_KIND

MODES = ("paper", "demo", "live")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return build_plugin_host(environ={"MOONLIGHT_DISABLE_PLUGINS": "*"}).registry


def account(account_id: str, mode: str, connector: str, **options: Any) -> dict[str, Any]:
    return {
        "id": account_id,
        "connector": connector,
        "mode": mode,
        "products": ["EURUSD"],
        "timeframes": ["1m"],
        "connector_options": options,
    }


def write(tmp_path: Path, accounts: list[dict[str, Any]], **extra: Any) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump({"accounts": accounts, **extra}),
        encoding="utf-8",
    )
    return path


def allowed(mode: str, selected: AccountKind) -> bool:
    """The rule: paper trades on the paper broker whatever the prices come from."""
    return mode == "paper" or REQUIRED_KIND[mode] is selected


def test_the_core_connector_configs_declare_what_their_options_select() -> None:
    real = MockConnectorConfig(account_kind=AccountKind.REAL)
    assert isinstance(real, DeclaresAccountKind)
    assert real.account_kind_for("acc1") is AccountKind.REAL
    assert MockConnectorConfig().account_kind_for("acc1") is AccountKind.DEMO
    assert PaperBrokerConfig().account_kind_for("acc1") is AccountKind.PAPER


@pytest.mark.parametrize(
    ("mode", "connector", "kind"),
    [
        *[(m, "mock", k) for m, k in product(MODES, (AccountKind.DEMO, AccountKind.REAL))],
        *[(m, "paper", AccountKind.PAPER) for m in MODES],
    ],
)
def test_every_mode_and_option_combination(
    tmp_path: Path, registry: Registry, mode: str, connector: str, kind: AccountKind
) -> None:
    options = {"account_kind": kind.value} if connector == "mock" else {}
    path = write(tmp_path, [account("acc1", mode, connector, **options)])
    if allowed(mode, kind):
        assert load_config(path, registry=registry).accounts[0].mode == mode
        return
    with pytest.raises(ConfigError) as caught:
        load_config(path, registry=registry)
    [issue] = caught.value.issues
    assert issue.path == "accounts[0].connector_options"
    assert f"mode {mode!r}" in issue.message or f"mode is {mode!r}" in issue.message
    if kind is AccountKind.REAL:
        assert "real-money" in issue.message and "mode: live" in issue.message


def test_every_contradiction_is_named_at_once_with_the_other_problems(
    tmp_path: Path, registry: Registry
) -> None:
    path = write(
        tmp_path,
        [
            account("fine", "demo", "mock"),
            account("demo-on-real", "demo", "mock", account_kind="real"),
            account("live-on-demo", "live", "mock", account_kind="demo"),
            account("demo-on-paper", "demo", "paper"),
            account("paper-on-real", "paper", "mock", account_kind="real"),
        ],
        risk={"threshold": 2.0},
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, registry=registry)
    assert sorted(issue.path for issue in caught.value.issues) == [
        "accounts[1].connector_options",
        "accounts[2].connector_options",
        "accounts[3].connector_options",
        "risk.threshold",
    ]


def test_config_check_fails_instead_of_printing_demo(tmp_path: Path) -> None:
    """The finding, through the command a user runs (installed plugins, exit status 1)."""
    path = write(tmp_path, [account("acc1", "demo", "mock", account_kind="real")])
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 1, result.output
    assert "accounts[0].connector_options" in result.output
    assert "real-money account, but mode is 'demo'" in result.output
    fixed = write(tmp_path, [account("acc1", "live", "mock", account_kind="real")])
    result = CliRunner().invoke(cli, ["config", "check", str(fixed)])
    assert result.exit_code == 0, result.output
    assert "acc1 (live)" in result.output
