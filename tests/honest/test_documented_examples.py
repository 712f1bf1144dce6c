"""The backtest examples of README.md and docs/how-to/backtest.md, run as written.

Each fenced block holding a ``moonlight backtest`` command is taken verbatim (line
continuations joined), split like a shell would, and run through the CLI in a scratch
directory laid out like the repository: ``configs/`` and ``../shared`` point at the real
ones, so the relative paths of the examples resolve as they do for a reader.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from moonlight.core.cli.backtest_cmd import backtest_cmd
from tests.support.market_data import EURUSD, SHARED_DATA, real_candles

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```[\w-]*\n(.*?)^```", re.S | re.M)


def documented_commands(path: Path) -> list[str]:
    """Every ``moonlight backtest`` example in the fenced blocks of ``path`` (a synopsis
    with placeholders such as ``CONFIG`` is not an example)."""
    commands = []
    for block in FENCE.findall(path.read_text(encoding="utf-8")):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            if "moonlight backtest" not in line:
                continue
            words = shlex.split(line, comments=True)
            synopsis = words[2].isupper()  # `moonlight backtest CONFIG --data FILE ...`
            if words[0].endswith("moonlight") and words[1] == "backtest" and not synopsis:
                commands.append(" ".join(words))
    return commands


EXAMPLES = [
    pytest.param(path, command, id=f"{path.name}:{i}")
    for path in (ROOT / "README.md", ROOT / "docs" / "how-to" / "backtest.md")
    for i, command in enumerate(documented_commands(path))
]


@pytest.fixture
def reader_dir(tmp_path: Path) -> Iterator[Path]:
    """``tmp/repo`` with ``configs`` and ``tmp/shared`` linked to the real ones."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "configs").symlink_to(ROOT / "configs", target_is_directory=True)
    (tmp_path / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)
    cwd = Path.cwd()
    os.chdir(repo)
    try:
        yield repo
    finally:
        os.chdir(cwd)


def test_the_examples_are_found() -> None:
    assert len(EXAMPLES) == 3


@pytest.mark.parametrize(("path", "command"), EXAMPLES)
def test_documented_backtest_runs_as_written(path: Path, command: str, reader_dir: Path) -> None:
    real_candles(EURUSD)
    words = shlex.split(command)
    result = CliRunner().invoke(backtest_cmd, [*words[2:], "--no-progress"])
    assert result.exit_code == 0, result.output
    report = Path(words[words.index("--report") + 1])
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["verdict"] in ("edge", "no evidence of an edge", "negative edge")
    assert summary["edge"]["decisions"] > 1000
    if "configs/config.yaml" in command:
        assert result.output.count("warning: skipping") == 1
        assert "EURUSD at 15s" in result.output and "GBPUSD" in result.output
