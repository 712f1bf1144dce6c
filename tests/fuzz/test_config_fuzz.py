"""Configuration fuzzing: whatever the YAML says, ``load_config`` returns a valid
configuration or raises :class:`ConfigError` listing the problems — never any other
exception — and ``moonlight config check`` exits 0 or 1 with a message, never a
traceback.

Three generators:

* random YAML trees whose keys come from the real schema's vocabulary (so they reach
  deep validators) mixed with arbitrary keys, and values of every YAML scalar kind;
* the example configuration (configs/config.yaml) mutated at random paths — a value
  replaced, a key dropped, an unknown key added;
* the example file's *text* mutated (characters inserted, deleted, replaced), which
  produces broken YAML as often as odd but valid YAML.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import BaseModel

from moonlight.core.cli import app, loading
from moonlight.core.config import ConfigError, MoonlightConfig, load_config
from moonlight.core.plugins import PluginHost, build_plugin_host

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "config.yaml"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def schema_keys(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every field name of the configuration models, recursively."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    keys = set(model.model_fields)
    for field in model.model_fields.values():
        for candidate in _models_in(field.annotation):
            keys |= schema_keys(candidate, seen)
    return keys


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


VOCABULARY = sorted(
    schema_keys(MoonlightConfig)
    | {
        "name",
        "params",
        "weight",
        "seed",
        "payout_pct",
        "market",
        "instruments",
        "symbol",
        "stake_amount",
        "policy",
        "a",
        "b",
        "server",
        "api_token",
        "password",
    }
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "paper",
            "demo",
            "live",
            "mock",
            "1m",
            "15s",
            "0s",
            "-5m",
            "ema_rsi",
            "sqlite:///x.db",
            "127.0.0.1",
            "0.0.0.0",
            "::1",
            "UTC",
            "Mars/Olympus",
            "fixed",
            "kill_switch",
            "circuit_breaker",
            ".",
            "\x00",
            "~",
        ]
    ),
)
keys = st.one_of(st.sampled_from(VOCABULARY), st.text(min_size=1, max_size=12))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return build_plugin_host()


def check_loads_cleanly(path: Path, host: PluginHost) -> MoonlightConfig | ConfigError:
    """Load; a ConfigError must name at least one problem, each with a message."""
    try:
        return load_config(path, registry=host.registry)
    except ConfigError as error:
        assert error.issues, "a ConfigError without any issue"
        assert all(issue.message for issue in error.issues)
        return error


def dump(tree: Any) -> str:
    return yaml.safe_dump(tree, allow_unicode=True)


@FUZZ
@given(tree=st.dictionaries(keys, trees, max_size=8))
def test_random_trees_give_a_config_or_a_clean_error(
    tree: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, host: PluginHost
) -> None:
    path = tmp_path_factory.mktemp("tree") / "config.yaml"
    path.write_text(dump(tree), encoding="utf-8")
    check_loads_cleanly(path, host)


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated_example(draw: st.DrawFn) -> dict[str, Any]:
    """The example config with 1-4 random edits at random places."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(data)[1:]))
        *parents, last = path
        node = data
        for part in parents:
            node = node[part]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            node[last] = draw(trees)
        elif action == "drop":
            del node[last]
        elif isinstance(node[last], dict):
            node[last][draw(keys)] = draw(trees)
        else:
            node[last] = draw(trees)
    return data


@FUZZ
@given(data=mutated_example())
def test_mutated_example_gives_a_config_or_a_clean_error(
    data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, host: PluginHost
) -> None:
    directory = tmp_path_factory.mktemp("mutated")  # loading touches no file but this one
    path = directory / "config.yaml"
    path.write_text(dump(data), encoding="utf-8")
    check_loads_cleanly(path, host)


# Inserted text holds no digits: a digit run like 2001-13-45 makes PyYAML itself raise
# ValueError, which the loader reports as a clean error (test_yaml_timestamp_out_of_range).
inserts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Nd")), min_size=1, max_size=6)


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            text = text[:at] + draw(inserts) + text[at:]
        else:
            span = draw(st.integers(1, 8))
            middle = draw(inserts) if action == "replace" else ""
            text = text[:at] + middle + text[at + span :]
    return text


@FUZZ
@given(text=mutated_text())
def test_mutated_text_gives_a_config_or_a_clean_error(
    text: str, tmp_path_factory: pytest.TempPathFactory, host: PluginHost
) -> None:
    directory = tmp_path_factory.mktemp("text")
    path = directory / "config.yaml"
    path.write_text(
        text.replace("data_dir: data", f"data_dir: {directory / 'data'}"), encoding="utf-8"
    )
    check_loads_cleanly(path, host)


def test_yaml_timestamp_out_of_range(tmp_path: Path, host: PluginHost) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: 2001-13-45\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path, registry=host.registry)


# ---------------------------------------------------------------- the CLI's exit codes


@pytest.fixture(scope="module")
def cli_with_host(host: PluginHost) -> Any:
    """The real ``moonlight`` click group, discovering plugins once for the module."""
    original = loading.build_plugin_host
    loading.build_plugin_host = lambda: host  # type: ignore[assignment]
    try:
        yield app.cli
    finally:
        loading.build_plugin_host = original  # type: ignore[assignment]


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=mutated_example())
def test_config_check_exits_0_or_1_never_a_traceback(
    data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, cli_with_host: Any
) -> None:
    directory = tmp_path_factory.mktemp("cli")
    data["data_dir"] = str(directory / "data")
    path = directory / "config.yaml"
    path.write_text(dump(data), encoding="utf-8")
    result = CliRunner().invoke(cli_with_host, ["config", "check", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 0:
        assert ": OK -- accounts:" in result.output
    else:
        assert "problem(s)" in result.output


@pytest.mark.subprocess
def test_console_script_refuses_junk_with_exit_1_and_no_traceback(tmp_path: Path) -> None:
    """The real command line (exit 0 on a valid file is covered through click above)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "accounts: [{id: 1, connector: nowhere}]\nrisk: {threshold: 7}\napi_token: hunter2\n",
        encoding="utf-8",
    )
    refused = subprocess.run(
        [sys.executable, "-m", "moonlight.core.cli.app", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1, refused.stderr
    assert "Traceback" not in refused.stderr
    assert "api_token" in refused.stderr and "hunter2" not in refused.stderr + refused.stdout
