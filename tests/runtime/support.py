"""Helpers shared by the engine-level tests of this directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moonlight.core.config.models import MoonlightConfig


def make_config(
    tmp_path: Path, accounts: list[dict[str, Any]], *, stake_amount: float = 1.0
) -> MoonlightConfig:
    """Validated *without* the plugin registry: ``config check`` would refuse the options
    that declare a contradiction, and these tests are about what the engine does when the
    options say nothing, or lie."""
    return MoonlightConfig.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "accounts": accounts,
            "strategies": [{"name": "ema_rsi"}, {"name": "supertrend_adx"}],
            "risk": {
                "threshold": 0.5,
                "margin": 0.0,
                "sizing": {"policy": "fixed", "params": {"stake_amount": stake_amount}},
                "guards": [{"name": "max_open_orders", "params": {"max_open_per_account": 50}}],
            },
        }
    )
