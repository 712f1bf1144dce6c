"""The trading day's net P&L per account: one figure for the daily-loss cap and ``pnl_day``.

Money has one source of truth, the stored results. At an account's start (before
reconciliation settles anything) the engine sums the account's results of the current
trading day from storage and hands that figure to the risk guards
(:meth:`~moonlight.core.risk.manager.RiskManager.on_day_pnl`) and to the ``pnl_day``
metric; from then on both are moved by the same results, delivered once by the
executor (including those reconciliation settles). :class:`DayRollover` sets every
``pnl_day`` back to zero at the trading day's end (midnight in ``risk.timezone``, the
same boundary the daily-loss cap uses).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from moonlight.core.risk.guards.daily_loss_cap import trading_day
from moonlight.core.runtime.clock import Clock
from moonlight.core.storage.errors import translate_storage_errors
from moonlight.core.storage.repository import day_pnl
from moonlight.core.telemetry.metrics import EngineMetrics


def day_window(now_ts: float, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants the local trading day containing ``now_ts`` starts and ends."""
    now = datetime.fromtimestamp(now_ts, UTC)
    day, ends = trading_day(now, tz)
    starts = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    return starts, ends


def stored_day_pnl(
    sessions: sessionmaker[Session],
    account_id: str,
    *,
    now_ts: float,
    tz: ZoneInfo,
    run_id: str | None = None,
) -> float:
    """The account's net P&L of the trading day containing ``now_ts``, from storage."""
    since, until = day_window(now_ts, tz)
    with translate_storage_errors(), sessions() as session:
        return day_pnl(session, account_id, since=since, until=until, run_id=run_id)


class DayRollover:
    """Resets ``pnl_day`` at each trading day's end on the engine clock (a task)."""

    def __init__(self, metrics: EngineMetrics, clock: Clock, tz: ZoneInfo) -> None:
        self.metrics = metrics
        self.clock = clock
        self.tz = tz

    async def run(self) -> None:
        """Sleep until each day's end, then start the new day; until cancelled."""
        while True:
            _, ends = day_window(self.clock.now(), self.tz)
            await self.clock.sleep_until(ends.timestamp())
            self.metrics.start_new_day()
