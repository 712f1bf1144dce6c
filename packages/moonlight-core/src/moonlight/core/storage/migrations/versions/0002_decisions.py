"""Decisions with shadow outcomes; calibrations remember the run that refitted them

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("timeframe", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("p_hat", sa.Double(), nullable=False),
        sa.Column("calibrated", sa.Boolean(), nullable=False),
        sa.Column("exploration", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("payout_pct", sa.Double(), nullable=True),
        sa.Column("client_req_id", sa.String(length=64), nullable=True),
        sa.Column("signals", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("features", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("entry_price", sa.Double(), nullable=False),
        sa.Column("exit_price", sa.Double(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(
        op.f("ix_decisions_instrument_timeframe_decided_at"),
        "decisions",
        ["instrument", "timeframe", "decided_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_decisions_run_id_decided_at"), "decisions", ["run_id", "decided_at"], unique=False
    )
    with op.batch_alter_table("calibrations") as batch:
        batch.add_column(sa.Column("run_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("calibrations") as batch:
        batch.drop_column("run_id")
    op.drop_index(op.f("ix_decisions_run_id_decided_at"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_instrument_timeframe_decided_at"), table_name="decisions")
    op.drop_table("decisions")
