"""Orders keep the broker's stable refusal code (``Rejected.code``) of a FAILED order

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("reason_code", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("reason_code")
