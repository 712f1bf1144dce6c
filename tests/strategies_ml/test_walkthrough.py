"""docs/how-to/learned-strategies.md's walkthrough, executed block by block as written,
on the real EURUSD candles in ../shared/data (skipped when they are absent)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from moonlight.core.cli.app import cli

from ..support.market_data import EURUSD, SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "how-to" / "learned-strategies.md"

pytestmark = pytest.mark.slow


def _section(text: str) -> str:
    return text.split("## Walkthrough on real candles", 1)[1].split("\n## ", 1)[0]


def _blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(python|yaml|shell)\n(.*?)```", _section(text), re.DOTALL)


@pytest.mark.timeout(1200)  # a few minutes: 120k rows trained, a month replayed
def test_the_walkthrough_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (SHARED_DATA / EURUSD).exists():
        pytest.skip("real candles absent: ../shared/data is not beside the project")
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)
    monkeypatch.chdir(work)
    blocks = _blocks(DOC.read_text(encoding="utf-8"))
    assert [kind for kind, _ in blocks] == ["python", "shell", "yaml", "shell", "yaml", "shell"]
    runner = CliRunner()
    outputs: list[str] = []
    for kind, body in blocks:
        if kind == "python":
            exec(compile(body, "split.py", "exec"), {})
        elif kind == "yaml":
            name = body.splitlines()[0].removeprefix("# ").strip()
            (work / name).write_text(body, encoding="utf-8")
        else:
            for line in body.strip().splitlines():
                words = shlex.split(line)
                assert words[0] == "moonlight"
                result = runner.invoke(cli, words[1:], catch_exceptions=False)
                assert result.exit_code == 0, result.output
                outputs.append(result.output)
    print("\n=====\n".join(outputs))
    export, train, calibrate, backtest = outputs
    assert "labelled" in export
    assert "pooled out of sample" in train and "ONNX max" in train
    assert (work / "data" / "models" / "eurusd-osc" / "promoted.json").is_file()
    assert "saved" in calibrate and "hold-out reliability" in calibrate
    assert "trades=" in backtest and (work / "reports" / "june" / "summary.json").is_file()
