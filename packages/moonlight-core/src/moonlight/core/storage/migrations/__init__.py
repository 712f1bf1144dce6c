"""Alembic environment of MoonLight's schema, shipped inside moonlight-core.

Run it through :mod:`moonlight.core.storage.migrate` (or ``moonlight db ...``): the
Alembic configuration is built in code, no ``alembic.ini`` is needed.
"""
