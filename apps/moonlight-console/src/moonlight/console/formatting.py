"""How the console writes numbers, money, times and durations (one place, tested).

Times from the server are UTC; the engine's trading times follow its clock, which is
simulated (faster than real time) in a sped-up paper run. The console shows them as
they are, in UTC, and says when the clock is simulated.
"""

from __future__ import annotations

from datetime import UTC, datetime

DASH = "—"


def money(value: float | None, currency: str = "") -> str:
    """``1,234.50 USD``; a dash for nothing."""
    if value is None:
        return DASH
    text = f"{value:,.2f}"
    return f"{text} {currency}" if currency else text


def signed_money(value: float | None, currency: str = "") -> str:
    """P&L with its sign: ``+4.25``, ``-5.00``, ``0.00``."""
    if value is None:
        return DASH
    text = f"{value:+,.2f}" if round(value, 2) != 0 else "0.00"
    return f"{text} {currency}" if currency else text


def probability(value: float | None) -> str:
    """p̂ as a percentage with one decimal: ``57.3 %``."""
    return DASH if value is None else f"{value * 100:.1f} %"


def ratio(value: float | None, digits: int = 3) -> str:
    """A plain number in [0, 1] (ECE, Brier)."""
    return DASH if value is None else f"{value:.{digits}f}"


def duration(seconds: float | None) -> str:
    """``15s``, ``1m``, ``2m30s``, ``1h5m``: the way timeframes and expiries are written."""
    if seconds is None:
        return DASH
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts)


def clock(moment: datetime | None) -> str:
    """``08:41:07`` in UTC."""
    if moment is None:
        return DASH
    return as_utc(moment).strftime("%H:%M:%S")


def date_time(moment: datetime | None) -> str:
    """``2026-01-05 08:41:07`` in UTC."""
    if moment is None:
        return DASH
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S")


def age(seconds: float | None) -> str:
    """How long ago, coarsely: ``just now``, ``12 s ago``, ``3 min ago``."""
    if seconds is None:
        return "never"
    if seconds < 2:
        return "just now"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.0f} h ago"


def as_utc(moment: datetime) -> datetime:
    """Aware UTC (a naive time from the server is UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
