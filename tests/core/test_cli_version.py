"""``moonlight version``: every installed MoonLight distribution, each exactly once."""

from __future__ import annotations

from importlib.metadata import version

from click.testing import CliRunner

from moonlight.core.cli.app import cli


def test_version_lists_each_distribution_once() -> None:
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    names = [line.split()[0] for line in lines]
    assert names[0] == "moonlight-core"
    assert len(names) == len(set(names)), lines
    assert f"moonlight-server {version('moonlight-server')}" in lines
    assert f"moonlight-console {version('moonlight-console')}" in lines
    assert "moonlight-indicators" in names
