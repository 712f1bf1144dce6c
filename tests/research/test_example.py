"""The notebook-style example in examples/ runs, end to end, on real candles."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from tests.support.market_data import BTCUSDT, SHARED_DATA, real_candles

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "research_notebook.py"


@pytest.mark.timeout(900)
def test_research_notebook_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_candles(BTCUSDT)
    monkeypatch.setattr(sys, "argv", [str(EXAMPLE), str(SHARED_DATA / BTCUSDT), "8000"])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    printed = capsys.readouterr().out
    assert "8,000 bars of BTCUSDT" in printed
    assert "out of sample:" in printed and "engine orders:" in printed
    engine, research = printed.split("engine orders:")[1].split("research orders:")
    assert int(engine.strip()) == int(research.strip()) > 0
