"""Tests of moonlight.core.storage, on SQLite always and on PostgreSQL when configured."""
