"""Storage: SQLAlchemy models, engine factory, Alembic migrations and small repositories.

Import the pieces from their modules (``moonlight.core.storage.models``,
``.engine``, ``.migrate``, ``.repository``, ``.errors``); this package does not
re-export them.
"""
