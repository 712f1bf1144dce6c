"""Column types shared by the models: UTC timestamps, money amounts, JSON documents.

* :class:`UTCDateTime` — ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL; on SQLite (which
  keeps no zone) the value is normalised to UTC before it is written and tagged UTC when
  read. Naive datetimes are refused: a timestamp without a zone is a bug.
* :data:`Money` — stakes, balances and P&L. Exact ``NUMERIC(20, 8)`` in the database
  (PostgreSQL keeps it exact; SQLite stores it with numeric affinity), ``float`` in
  Python (``asdecimal=False``), because every computation around it (payout ratios,
  Kelly fractions, pandas reports) is in floats. Amounts round to 8 decimals when stored.
* :data:`JSONDoc` — a JSON document (dict or list); NaN/inf become null, numpy values
  become Python ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
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


class MoneyAmount(TypeDecorator[float]):
    """Exact NUMERIC(20, 8) in the database, float in Python.

    A float is bound as the decimal of its shortest repr (``Decimal(repr(x))``): sent as
    a float, PostgreSQL would convert it with 15 significant digits only.
    """

    impl = Numeric(20, 8, asdecimal=False)
    cache_ok = True

    def process_bind_param(self, value: float | Decimal | None, dialect: Dialect) -> Any:
        """Bind the amount exactly as Python prints it."""
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(repr(float(value)))


Money = MoneyAmount()
"""Money column type shared by the models."""


class JSONDocument(TypeDecorator[Any]):
    """JSON document; values are made JSON-safe on the way in (see :func:`json_safe`).

    Python ``None`` is stored as SQL NULL, not the JSON ``null``.
    """

    impl = JSON(none_as_null=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Sanitise before the driver serialises (PostgreSQL refuses NaN in JSON)."""
        return None if value is None else json_safe(value)


JSONDoc = JSONDocument()
"""JSON column type shared by the models."""


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf floats replaced by None and numpy scalars/arrays by Python ones.

    JSON has no NaN (PostgreSQL refuses the token) and indicator values are NaN during
    warm-up, so sanitising here keeps every JSON column writable.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return json_safe(tolist())
    return value


def json_default_dict() -> dict[str, Any]:
    """Fresh empty dict for JSON columns that default to ``{}``."""
    return {}
