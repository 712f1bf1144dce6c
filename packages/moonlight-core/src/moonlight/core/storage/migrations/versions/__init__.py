"""Alembic revisions of MoonLight's schema, oldest first by number; each one downgradable."""
