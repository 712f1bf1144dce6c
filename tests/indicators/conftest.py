"""Fixtures for the indicator suite."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test run sees the same data."""
    return np.random.default_rng(20240601)
