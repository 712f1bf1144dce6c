"""Finding 14.8: hostile configuration files get a clean error, quickly, never a traceback.

Billion laughs, a 5 MB file, binary and non-UTF-8 bytes, 100,000 levels of nesting, an
empty file, a key written twice, ``.inf``/``.nan`` where money or time is configured —
each is refused by ``load_config`` with a :class:`ConfigError` naming the problem, and
``moonlight config check`` exits 1 with that message.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from moonlight.core.cli.app import cli
from moonlight.core.config import ConfigError, load_config
from moonlight.core.config.yaml_source import MAX_CONFIG_BYTES, MAX_DEPTH, MAX_EXPANDED_NODES

VALID = """
accounts:
  - id: acc1
    connector: paper
    products: [EURUSD]
    timeframes: [1m]
risk:
  threshold: 0.6
"""


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


HOSTILE: dict[str, tuple[bytes, str]] = {
    "billion laughs": (billion_laughs().encode(), "aliases expand to more than"),
    "5 MB file": (b"data_dir: " + b"x" * (5 * 1024 * 1024) + b"\n", "file larger than"),
    "binary": (bytes(range(256)) * 4, "binary file (NUL byte at offset 0)"),
    "non-UTF-8": ("data_dir: caf\xe9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    "100k-deep flow nesting": (b"a: " + b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
    "deep block nesting": (
        "".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_DEPTH + 5)).encode(),
        "nested deeper than",
    ),
    "empty": (b"", "holds no configuration"),
    "only comments": (b"# nothing here\n\n", "holds no configuration"),
    "a bare tag": (b"!", "holds no configuration (a null document)"),  # found by fuzzing
    "null": (b"~\n", "holds no configuration (a null document)"),
    "control character": (b"data_dir: a\x07b\n", "not valid YAML"),
    "recursive alias": (b"plugins: &loop {x: *loop}\n", "recursive alias"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_with_a_clean_error(tmp_path: Path, name: str) -> None:
    content, expected = HOSTILE[name]
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert expected in str(refused.value), str(refused.value)[:300]
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert expected in result.output


def test_limits_are_what_the_docs_say() -> None:
    assert MAX_CONFIG_BYTES == 256 * 1024 and MAX_DEPTH == 64
    assert MAX_EXPANDED_NODES == 100_000


def test_anchors_and_merge_keys_within_the_limits_still_work(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        VALID + "ensemble: &shared {}\ntelemetry:\n  <<: {log_level: INFO}\n  log_backups: 3\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.telemetry.log_level == "INFO" and config.telemetry.log_backups == 3


def test_a_key_written_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(VALID + "risk:\n  threshold: 0.9\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    (issue,) = refused.value.issues
    assert "duplicate key 'risk' at line 9 (first at line 7)" in issue.message
    nested = tmp_path / "nested.yaml"
    nested.write_text("risk: {threshold: 0.6, threshold: 0.7}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate key 'threshold'"):
        load_config(nested)


def test_a_merge_key_may_be_overridden_by_an_explicit_one(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        VALID + "telemetry:\n  <<: {log_backups: 2}\n  log_backups: 5\n", encoding="utf-8"
    )
    assert load_config(path).telemetry.log_backups == 5


@pytest.mark.parametrize(
    ("snippet", "path"),
    [
        ("accounts: [{id: a, connector: paper, products: [X], timeframes: [1m],"
         " max_stake: .inf}]", "accounts[0].max_stake"),
        ("accounts: [{id: a, connector: paper, products: [X], timeframes: [1m],"
         " max_stake: inf}]", "accounts[0].max_stake"),
        ("risk: {sizing: {policy: fixed, params: {stake_amount: .nan}}}",
         "risk.sizing.params.stake_amount"),
        ("runtime: {settle_delay_s: -.inf}", "runtime.settle_delay_s"),
        ("plugins: {anything: {timeout_s: .inf}}", "plugins.anything.timeout_s"),
    ],
)  # fmt: skip
def test_non_finite_numbers_are_refused_everywhere(tmp_path: Path, snippet: str, path: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(snippet + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    issues = {issue.path: issue.message for issue in refused.value.issues}
    assert "finite" in issues[path], issues


def test_a_non_finite_number_from_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(VALID, encoding="utf-8")
    monkeypatch.setenv("MOONLIGHT_RUNTIME__SETTLE_DELAY_S", "inf")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert [i.path for i in refused.value.issues] == ["runtime.settle_delay_s"]


def test_a_plugin_parameter_given_as_text_is_checked_after_its_model(tmp_path: Path) -> None:
    from moonlight.core.plugins import build_plugin_host

    path = tmp_path / "config.yaml"
    path.write_text(
        VALID + "  sizing: {policy: fixed, params: {stake_amount: 'inf'}}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as refused:
        load_config(path, registry=build_plugin_host().registry)
    assert any("stake_amount must be a finite number" in i.message for i in refused.value.issues)


@pytest.mark.subprocess
def test_the_console_script_prints_no_traceback_for_binary_or_deep_files(tmp_path: Path) -> None:
    for name in ("binary", "100k-deep flow nesting"):
        path = tmp_path / "config.yaml"
        path.write_bytes(HOSTILE[name][0])
        result = subprocess.run(
            [sys.executable, "-m", "moonlight.core.cli.app", "config", "check", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and HOSTILE[name][1] in result.stderr
