"""Column types shared by the models: UTC timestamps, money amounts, JSON documents.

* :class:`UTCDateTime` — ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL; on SQLite (which
  keeps no zone) the value is normalised to UTC before it is written and tagged UTC when
  read. Naive datetimes are refused: a timestamp without a zone is a bug.
* :data:`Money` — stakes, balances and P&L. Exact ``NUMERIC(20, 8)`` in the database
  (PostgreSQL keeps it exact; SQLite stores it with numeric affinity), ``float`` in
  Python (``asdecimal=False``), because every computation around it (payout ratios,
  Kelly fractions, pandas reports) is in floats. Amounts round to 8 decimals when stored.
* :data:`JSONDoc` — a JSON document (dict or list).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store aware ones converted to UTC."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: MoonLight stores aware UTC times only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the backend gave back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


Money = Numeric(20, 8, asdecimal=False)
"""Money column type: exact NUMERIC(20, 8) in the database, float in Python."""

JSONDoc = JSON(none_as_null=True)
"""JSON column type; Python ``None`` is stored as SQL NULL, not the JSON ``null``."""


def json_default_dict() -> dict[str, Any]:
    """Fresh empty dict for JSON columns that default to ``{}``."""
    return {}
