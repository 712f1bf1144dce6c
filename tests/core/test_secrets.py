"""Secrets: keyring storage through the CLI, environment fallback, no value ever printed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from keyring.backends import fail
from keyrings.alt.file import PlaintextKeyring

from moonlight.core.cli.app import cli
from moonlight.core.secrets import SecretsView, env_var_for, get_secret

SECRET = "s3cr3t-value-that-must-not-leak"


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_set_check_delete_through_the_cli(file_keyring: PlaintextKeyring) -> None:
    runner = CliRunner()
    stored = runner.invoke(cli, ["secrets", "set", "olymp_access", "--stdin"], input=SECRET)
    assert stored.exit_code == 0, stored.output
    assert SECRET not in stored.output
    assert get_secret("olymp_access") == SECRET
    checked = runner.invoke(cli, ["secrets", "check", "olymp_access"])
    assert checked.exit_code == 0 and SECRET not in checked.output
    assert runner.invoke(cli, ["secrets", "delete", "olymp_access"]).exit_code == 0
    assert get_secret("olymp_access") is None
    missing = runner.invoke(cli, ["secrets", "delete", "olymp_access"])
    assert missing.exit_code == 1 and "no secret named" in missing.output


def test_environment_fallback_when_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.setenv(env_var_for("deriv.token"), SECRET)
        assert env_var_for("deriv.token") == "MOONLIGHT_SECRET_DERIV_TOKEN"
        assert SecretsView()["deriv.token"] == SECRET
        result = CliRunner().invoke(cli, ["secrets", "set", "x", "--stdin"], input="v")
        assert result.exit_code == 1
        assert "MOONLIGHT_SECRET_X" in result.output
    finally:
        keyring.set_keyring(previous)


def test_missing_secret_names_where_to_put_it() -> None:
    with pytest.raises(KeyError, match="moonlight secrets set nowhere"):
        SecretsView()["nowhere"]


def test_bad_secret_name_is_refused(file_keyring: PlaintextKeyring) -> None:
    result = CliRunner().invoke(cli, ["secrets", "set", "bad name!", "--stdin"], input="v")
    assert result.exit_code == 1 and "must be letters" in result.output
