"""Fixtures for the indicator suite.

If ``moonlight.indicators`` is not importable from the environment (an editable install
whose path file is missing), its ``src`` folder is added so the suite still tests the
working tree rather than failing on import.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_SRC = Path(__file__).resolve().parents[2] / "packages" / "moonlight-indicators" / "src"

if importlib.util.find_spec("moonlight.indicators") is None:  # pragma: no cover - env fix
    import moonlight

    sys.path.insert(0, str(_SRC))
    moonlight.__path__.append(str(_SRC / "moonlight"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test run sees the same data."""
    return np.random.default_rng(20240601)
