"""Outsider proof: separately installed packages become plugins with no change to MoonLight.

The example strategy package (examples/moonlight-strategy-example) and a fixture package
that fails on import are pip-installed into a private target directory; child processes
with that directory on PYTHONPATH see them through the ``moonlight`` entry point, exactly
as a user's ``pip install`` would make them visible.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "moonlight-strategy-example"
BROKEN = ROOT / "tests" / "fixtures" / "moonlight-broken-example"
FIRST_PARTY = {
    "indicators": "moonlight-indicators",
    "strategies": "moonlight-strategies-basic",
    "olymp": "moonlight-connector-olymp",
    "deriv": "moonlight-connector-deriv",
}

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(EXAMPLE), str(BROKEN)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return target


def run(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("MOONLIGHT_DISABLE_PLUGINS", None)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_plugins_json_lists_first_party_example_and_broken(site: Path) -> None:
    result = run(site, "-m", "moonlight.core.cli.app", "plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    for name, distribution in FIRST_PARTY.items():
        assert plugins[name]["distribution"] == distribution
    example = plugins["sma_trend_example"]
    assert example["distribution"] == "moonlight-strategy-example"
    assert example["version"] == "0.1.0"
    assert example["status"] == "loaded"
    assert [s["name"] for s in example["provides"]["strategy"]] == ["sma_trend"]
    broken = plugins["broken_example"]
    assert broken["status"] == "broken"
    assert broken["distribution"] == "moonlight-broken-example"
    assert "moonlight_dependency_that_does_not_exist" in broken["error"]
    # the broken plugin did not take anything else down
    assert plugins["indicators"]["provides"]["indicator"]


def test_example_strategy_loads_by_name_from_a_config(site: Path, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "strategies:\n  - name: sma_trend\n    params: {period: 5, full_strength_pct: 0.5}\n",
        encoding="utf-8",
    )
    script = textwrap.dedent(
        """
        from moonlight.core.config import load_config
        from moonlight.core.plugins import build_plugin_host
        from moonlight.core.strategy.api import Bar
        from moonlight.core.strategy.factory import build_strategies
        from moonlight.core.strategy.host import StrategyGroup
        from moonlight.core.strategy.indicators import RegistryIndicatorSource

        host = build_plugin_host()
        config = load_config("config.yaml", registry=host.registry)
        built = build_strategies(config.strategies, host.registry)
        group = StrategyGroup([s for _, s in built], RegistryIndicatorSource(host.registry))
        closes = [100, 101, 102, 103, 104, 105, 106]
        signals = [group.on_bar(Bar(c, c, c, c, 0.0))[0] for c in closes]
        print(type(built[0][1]).__module__, signals[-1].direction.value, signals[0].reason)
        """
    )
    result = run(site, "-c", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    module, direction, first_reason = result.stdout.split(maxsplit=2)
    assert module == "moonlight_strategy_example.strategy"
    assert direction == "up"
    assert first_reason.strip() == "warm-up"


def test_config_naming_a_strategy_nobody_provides_fails_closed(site: Path, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("strategies:\n  - name: from_broken\n", encoding="utf-8")
    result = run(
        site, "-m", "moonlight.core.cli.app", "config", "check", "config.yaml", cwd=tmp_path
    )
    assert result.returncode == 1
    assert "strategies[0].name: no plugin provides strategy 'from_broken'" in result.stderr
    assert "plugin 'broken_example' (moonlight-broken-example) failed to load" in result.stderr
