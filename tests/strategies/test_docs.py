"""docs/strategies.md documents every reference strategy, and its example really works."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moonlight.core.strategy.api import Bar, Strategy
from moonlight.core.strategy.host import StrategyGroup, StrategyHost
from moonlight.strategies.basic._base import library_source
from moonlight.strategies.basic.plugin import STRATEGIES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "strategies.md"
README = ROOT / "packages" / "moonlight-strategies-basic" / "README.md"


@pytest.fixture(scope="module")
def text() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("cls", STRATEGIES, ids=lambda c: c.name)
def test_every_parameter_and_default_is_documented(cls: type[Strategy[Any]], text: str) -> None:
    section = text.split(f"### `{cls.name}`", 1)
    assert len(section) == 2, f"no section for {cls.name}"
    body = section[1].split("\n### ", 1)[0]
    for name, field in cls.params_model.model_fields.items():
        row = re.search(rf"^\| `{name}` \| ([^|]+) \|", body, re.MULTILINE)
        assert row, f"{cls.name}.{name} is not in its parameter table"
        assert float(row.group(1)) == float(field.default), f"{cls.name}.{name} default"
    warmup = re.search(r"^\* Warm-up:.*$", body, re.MULTILINE)
    assert warmup and re.search(rf"\b{cls().warmup_bars}\b", warmup.group(0)), "warm-up"


def test_the_readme_lists_every_strategy() -> None:
    readme = README.read_text(encoding="utf-8")
    assert all(f"`{cls.name}`" in readme for cls in STRATEGIES)


def test_the_documented_example_strategy_obeys_the_contract(text: str) -> None:
    code = text.split("## Writing a strategy", 1)[1].split("```python\n", 1)[1].split("```")[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    example = namespace["CloseVsSma"]
    rng = np.random.default_rng(9)
    close = 100 + np.cumsum(rng.normal(size=500))
    frame = {"open": close, "high": close + 1, "low": close - 1, "close": close}
    history = StrategyHost(example()).history(frame, source=library_source())
    group = StrategyGroup([example()], library_source())
    streamed = [group.on_bar(Bar(c, c + 1, c - 1, c))[0] for c in close]
    assert streamed == [history.signal_at(i) for i in range(close.size)]
    assert group.hosts[0].errors == 0 and np.count_nonzero(history.direction) > 100
