"""Test configs that must place orders opt into the exploration mode, by name.

The shipped ``configs/config.yaml`` is honest by default: p̂ is learned walk-forward from
shadow outcomes and stays at 0.5 (never above break-even) until the data shows an edge,
so on a simulated market it rarely trades. Tests of the order path (API, kill switch,
restarts, the console) need orders, so they set the explicitly named exploration prior,
whose trades are marked and excluded from every reported edge.
"""

from __future__ import annotations

from typing import Any

#: The assumed calibration that makes paper trading produce orders (paper mode only).
EXPLORATION_PRIOR = {"a": -2.5, "b": 0.0}


def trade_on_exploration(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (a parsed YAML mapping) with the exploration prior set for the whole run
    (no walk-forward fit takes over on the simulated random walk); returned too."""
    ensemble = config.setdefault("ensemble", {})
    ensemble["paper_prior"] = dict(EXPLORATION_PRIOR)
    ensemble.setdefault("calibration", {}).update(min_samples=1_000_000, window=1_000_000)
    return config
