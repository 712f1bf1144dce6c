"""A backtest never reaches notifier plugins: simulated orders must not page anyone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moonlight.core.backtest.plugin import with_replay
from moonlight.core.data.load import load_candles
from moonlight.core.plugins import hookimpl
from tests.backtest.support import backtest, config_data, write_config
from tests.support.market_data import BTCUSDT, SHARED_DATA, real_candles


class Spy:
    """A notifier plugin recording every observer hook it receives."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    @hookimpl
    def moonlight_on_order_settled(self, event: Any) -> None:
        self.heard.append("settled")

    @hookimpl
    def moonlight_on_order_state_changed(self, event: Any) -> None:
        self.heard.append("state")

    @hookimpl
    def moonlight_on_alarm(self, event: Any) -> None:
        self.heard.append("alarm")


def test_notifier_plugins_hear_nothing_from_a_backtest(tmp_path: Path) -> None:
    real_candles(BTCUSDT)
    spy = Spy()
    host = with_replay([("spy", spy)])
    risk = {
        "margin": 0.0,
        "threshold": 0.5,
        "sizing": {"policy": "fixed", "params": {"stake_amount": 5}},
        "guards": [{"name": "daily_loss_cap", "params": {"daily_loss_cap_amount": 10}}],
    }
    config = write_config(tmp_path, config_data(tmp_path, "BTCUSDT", risk=risk), host)
    result = backtest(config, load_candles(SHARED_DATA / BTCUSDT).slice(0, 1500), host, tmp_path)
    assert result.summary["trades"] > 10 and result.summary["losses"] > 2  # the cap tripped
    assert spy.heard == []
    host.notify("moonlight_on_alarm", event=None)  # the plugin itself is wired
    assert spy.heard == ["alarm"]
