"""Secrets: keyring storage through the CLI, environment fallback, no value ever printed,
and no silent fallback to a plaintext keyring (tests use an in-memory backend)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from keyring.backends import fail
from keyrings.alt.file import PlaintextKeyring

from moonlight.core.cli.app import cli
from moonlight.core.secrets import (
    ALLOW_PLAINTEXT_ENV,
    SecretStoreError,
    SecretsView,
    env_var_for,
    get_secret,
    set_secret,
)
from tests.support.memory_keyring import MemoryKeyring, installed

SECRET = "s3cr3t-value-that-must-not-leak"


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


@pytest.fixture
def plaintext_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """keyrings.alt's file backend, the one ``keyring`` falls back to without an OS keyring."""
    monkeypatch.delenv(ALLOW_PLAINTEXT_ENV, raising=False)
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    with installed(backend):
        yield Path(backend.file_path)


def test_set_check_delete_through_the_cli(memory_keyring: MemoryKeyring) -> None:
    runner = CliRunner()
    stored = runner.invoke(cli, ["secrets", "set", "olymp_access", "--stdin"], input=SECRET)
    assert stored.exit_code == 0, stored.output
    assert SECRET not in stored.output
    assert memory_keyring.values == {("moonlight", "olymp_access"): SECRET}
    assert get_secret("olymp_access") == SECRET
    checked = runner.invoke(cli, ["secrets", "check", "olymp_access"])
    assert checked.exit_code == 0 and SECRET not in checked.output
    assert runner.invoke(cli, ["secrets", "delete", "olymp_access"]).exit_code == 0
    assert get_secret("olymp_access") is None
    missing = runner.invoke(cli, ["secrets", "delete", "olymp_access"])
    assert missing.exit_code == 1 and "no secret named" in missing.output


def test_a_plaintext_keyring_is_refused_and_nothing_is_written(plaintext_keyring: Path) -> None:
    refused = CliRunner().invoke(cli, ["secrets", "set", "olymp_access", "--stdin"], input=SECRET)
    assert refused.exit_code == 1
    assert "unencrypted" in refused.output and "PlaintextKeyring" in refused.output
    assert "MOONLIGHT_SECRET_OLYMP_ACCESS" in refused.output
    assert "--allow-plaintext-keyring" in refused.output
    assert SECRET not in refused.output
    assert not plaintext_keyring.exists()
    with pytest.raises(SecretStoreError):
        set_secret("olymp_access", SECRET)


@pytest.mark.parametrize("opt_in", ["flag", "environment"])
def test_a_plaintext_keyring_chosen_explicitly_is_used_with_a_warning(
    plaintext_keyring: Path, monkeypatch: pytest.MonkeyPatch, opt_in: str
) -> None:
    args = ["secrets", "set", "olymp_access", "--stdin"]
    if opt_in == "flag":
        args.append("--allow-plaintext-keyring")
    else:
        monkeypatch.setenv(ALLOW_PLAINTEXT_ENV, "1")
    stored = CliRunner().invoke(cli, args, input=SECRET)
    assert stored.exit_code == 0, stored.output
    assert "UNENCRYPTED" in stored.output and str(plaintext_keyring) in stored.output
    assert SECRET not in stored.output
    assert get_secret("olymp_access") == SECRET


def test_environment_fallback_when_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    with installed(fail.Keyring()):
        monkeypatch.setenv(env_var_for("deriv.token"), SECRET)
        assert env_var_for("deriv.token") == "MOONLIGHT_SECRET_DERIV_TOKEN"
        assert SecretsView()["deriv.token"] == SECRET
        result = CliRunner().invoke(cli, ["secrets", "set", "x", "--stdin"], input="v")
        assert result.exit_code == 1
        assert "MOONLIGHT_SECRET_X" in result.output


def test_missing_secret_names_where_to_put_it(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(KeyError, match="moonlight secrets set nowhere"):
        SecretsView()["nowhere"]


def test_bad_secret_name_is_refused(memory_keyring: MemoryKeyring) -> None:
    result = CliRunner().invoke(cli, ["secrets", "set", "bad name!", "--stdin"], input="v")
    assert result.exit_code == 1 and "must be letters" in result.output
