"""The scale-out tests use the storage suite's fresh-PostgreSQL-database fixture."""

from tests.storage.conftest import pg_database

__all__ = ["pg_database"]
