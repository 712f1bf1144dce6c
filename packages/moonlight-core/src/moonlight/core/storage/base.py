"""The one declarative base of MoonLight's tables, with a constraint naming convention.

Every index, unique, check, foreign-key and primary-key constraint gets a predictable
name, so Alembic migrations can drop or alter them by name on SQLite (batch mode) and
PostgreSQL alike, and autogenerate compares like with like.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; its ``metadata`` is what migrations and autogenerate compare."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
