"""The sizing policy interface.

A policy is built once by its plugin factory ``factory(config)`` (the validated
instance of its ``config_model``) and asked, on the hot path, how much to stake on one
allowed decision. It returns the stake it wants in account currency (0 for "no stake");
limits are applied afterwards by :func:`moonlight.core.risk.sizing.clamp.clamp_stake`,
so a policy never needs to know them.
"""

from __future__ import annotations

from typing import Protocol

from moonlight.core.risk.request import DecisionRequest


class SizingPolicy(Protocol):
    """Proposes a stake for one decision."""

    name: str

    def stake(self, request: DecisionRequest) -> float:
        """The stake this policy wants, in account currency, before limits (≥ 0)."""
        ...
