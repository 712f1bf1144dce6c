"""The risk chain is on the hot path: one decision must take well under 20 µs.

Measured as the best of several timed batches (the minimum is what the code costs; the
rest is other processes on a shared machine), with every built-in guard configured.
"""

from __future__ import annotations

import timeit
from functools import partial

from moonlight.core.config.models import RiskConfig
from moonlight.core.plugins import build_plugin_host
from moonlight.core.risk.builder import build_risk_manager
from moonlight.core.risk.state_store import MemoryGuardStateStore
from tests.risk.conftest import Clock, make_request
from tests.risk.test_manager import GUARDS, NO_ENTRY_POINTS

BUDGET_S = 20e-6
CALLS = 5000


def test_one_decision_through_every_guard_is_under_20_us() -> None:
    registry = build_plugin_host(environ=NO_ENTRY_POINTS).registry
    config = RiskConfig.model_validate(
        {"sizing": {"policy": "kelly_lite"}, "guards": GUARDS}, context={"registry": registry}
    )
    manager = build_risk_manager(config, registry, store=MemoryGuardStateStore(), now=Clock())
    allowed, refused = make_request(), make_request(p_hat=0.5)
    manager.on_order_opened("acc1", "GBPUSD", "open-order")  # the guards have state to read
    assert manager.decide(allowed).allowed and manager.decide(allowed).stake > 0
    assert not manager.decide(refused).allowed
    for request in (allowed, refused):
        best = min(timeit.repeat(partial(manager.decide, request), number=CALLS, repeat=5))
        assert best / CALLS < BUDGET_S, f"{best / CALLS * 1e6:.2f} µs per decision"
