"""One module per console screen; :data:`SCREENS` is their order in the navigation."""

from __future__ import annotations

from moonlight.console.ui.screens.alarms import AlarmsScreen
from moonlight.console.ui.screens.base import Screen
from moonlight.console.ui.screens.calibration import CalibrationScreen
from moonlight.console.ui.screens.kill_switch import KillSwitchScreen
from moonlight.console.ui.screens.orders import OrdersScreen
from moonlight.console.ui.screens.overview import OverviewScreen
from moonlight.console.ui.screens.pnl import PnlScreen
from moonlight.console.ui.screens.settings import SettingsScreen
from moonlight.console.ui.screens.workers import WorkersScreen

SCREENS: tuple[type[Screen], ...] = (
    OverviewScreen,
    PnlScreen,
    OrdersScreen,
    WorkersScreen,
    AlarmsScreen,
    KillSwitchScreen,
    CalibrationScreen,
    SettingsScreen,
)

__all__ = ["SCREENS", "Screen"]
