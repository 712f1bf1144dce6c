"""Initial schema: orders, results, features, metrics, caches, paper book, engine state

Revision ID: 0001
Revises:
Create Date: 2026-11-24 01:11:26.823328
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "critical",
                "warning",
                "info",
                name="alarm_level",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
    )
    op.create_index(op.f("ix_alarms_level_ts"), "alarms", ["level", "ts"], unique=False)
    op.create_index(op.f("ix_alarms_ts"), "alarms", ["ts"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_ts"), "audit_log", ["ts"], unique=False)

    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=True),
        sa.Column("timeframe", sa.String(length=16), nullable=True),
        sa.Column("a", sa.Double(), nullable=False),
        sa.Column("b", sa.Double(), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        sa.Column("data_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metrics", sa.JSON(none_as_null=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibrations")),
    )
    op.create_index(
        op.f("ix_calibrations_instrument_timeframe_created_at"),
        "calibrations",
        ["instrument", "timeframe", "created_at"],
        unique=False,
    )

    op.create_table(
        "engine_state",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_engine_state")),
    )
    op.create_table(
        "instrument_cache",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("payout_pct", sa.Double(), nullable=True),
        sa.Column("allowed_durations_s", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("stake_min", sa.Numeric(precision=20, scale=8, asdecimal=False), nullable=True),
        sa.Column("stake_max", sa.Numeric(precision=20, scale=8, asdecimal=False), nullable=True),
        sa.Column("trading_hours", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("details", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instrument_cache")),
        sa.UniqueConstraint(
            "connector", "instrument", name=op.f("uq_instrument_cache_connector_instrument")
        ),
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column(
            "scope",
            sa.Enum(
                "global",
                "acc",
                "prod",
                "tf",
                name="metric_scope",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("scope_key", sa.String(length=128), nullable=True),
        sa.Column("value", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
    )
    op.create_index(op.f("ix_metrics_name_ts"), "metrics", ["name", "ts"], unique=False)
    op.create_index(
        op.f("ix_metrics_scope_scope_key_name"),
        "metrics",
        ["scope", "scope_key", "name"],
        unique=False,
    )

    op.create_table(
        "paper_accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("balance", sa.Numeric(precision=20, scale=8, asdecimal=False), nullable=False),
        sa.Column(
            "start_of_day_balance",
            sa.Numeric(precision=20, scale=8, asdecimal=False),
            nullable=False,
        ),
        sa.Column("day_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_paper_accounts")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "live",
                "paper",
                "backtest",
                name="run_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("config", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("summary", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_kind_started_at"), "runs", ["kind", "started_at"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_req_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("timeframe", sa.String(length=16), nullable=False),
        sa.Column(
            "direction",
            sa.Enum(
                "up", "down", name="direction", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("stake", sa.Numeric(precision=20, scale=8, asdecimal=False), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("payout_pct", sa.Double(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("p_hat", sa.Double(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "IDLE",
                "PREPARE",
                "SEND",
                "CONFIRM",
                "SETTLED",
                "FAILED",
                name="order_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("broker_order_id", sa.String(length=128), nullable=True),
        sa.Column("strategy_snapshot", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_orders_run_id_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_req_id", name=op.f("uq_orders_client_req_id")),
    )
    op.create_index(
        op.f("ix_orders_account_id_created_at"),
        "orders",
        ["account_id", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_orders_broker_order_id"), "orders", ["broker_order_id"], unique=False)
    op.create_index(op.f("ix_orders_created_at"), "orders", ["created_at"], unique=False)
    op.create_index(
        op.f("ix_orders_instrument_timeframe_created_at"),
        "orders",
        ["instrument", "timeframe", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_orders_run_id"), "orders", ["run_id"], unique=False)
    op.create_index(op.f("ix_orders_state"), "orders", ["state"], unique=False)

    op.create_table(
        "paper_contracts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_req_id", sa.String(length=64), nullable=False),
        sa.Column("broker_order_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column(
            "direction",
            sa.Enum(
                "up", "down", name="direction", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("stake", sa.Numeric(precision=20, scale=8, asdecimal=False), nullable=False),
        sa.Column("payout_pct", sa.Double(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_price", sa.Double(), nullable=True),
        sa.Column("exit_price", sa.Double(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "win",
                "lose",
                "push",
                "abort",
                name="outcome",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("pnl", sa.Numeric(precision=20, scale=8, asdecimal=False), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.account_id"],
            name=op.f("fk_paper_contracts_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_contracts")),
        sa.UniqueConstraint("broker_order_id", name=op.f("uq_paper_contracts_broker_order_id")),
        sa.UniqueConstraint("client_req_id", name=op.f("uq_paper_contracts_client_req_id")),
    )
    op.create_index(
        op.f("ix_paper_contracts_account_id_settled_at"),
        "paper_contracts",
        ["account_id", "settled_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_paper_contracts_expires_at"), "paper_contracts", ["expires_at"], unique=False
    )

    op.create_table(
        "features",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("indicators", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("signals", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("extras", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_features_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_features")),
        sa.UniqueConstraint("order_id", name=op.f("uq_features_order_id")),
    )
    op.create_table(
        "results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "win",
                "lose",
                "push",
                "abort",
                name="outcome",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("pnl", sa.Numeric(precision=20, scale=8, asdecimal=False), nullable=False),
        sa.Column("entry_price", sa.Double(), nullable=True),
        sa.Column("exit_price", sa.Double(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_decision_to_send_ms", sa.Double(), nullable=True),
        sa.Column("latency_send_to_ack_ms", sa.Double(), nullable=True),
        sa.Column("latency_expiry_to_settlement_ms", sa.Double(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_results_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results")),
        sa.UniqueConstraint("order_id", name=op.f("uq_results_order_id")),
    )
    op.create_index(op.f("ix_results_settled_at"), "results", ["settled_at"], unique=False)


def downgrade() -> None:
    """Revert this revision exactly."""
    op.drop_index(op.f("ix_results_settled_at"), table_name="results")

    op.drop_table("results")
    op.drop_table("features")
    op.drop_index(op.f("ix_paper_contracts_expires_at"), table_name="paper_contracts")
    op.drop_index(op.f("ix_paper_contracts_account_id_settled_at"), table_name="paper_contracts")

    op.drop_table("paper_contracts")
    op.drop_index(op.f("ix_orders_state"), table_name="orders")
    op.drop_index(op.f("ix_orders_run_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_instrument_timeframe_created_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_created_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_broker_order_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_account_id_created_at"), table_name="orders")

    op.drop_table("orders")
    op.drop_index(op.f("ix_runs_kind_started_at"), table_name="runs")

    op.drop_table("runs")
    op.drop_table("paper_accounts")
    op.drop_index(op.f("ix_metrics_scope_scope_key_name"), table_name="metrics")
    op.drop_index(op.f("ix_metrics_name_ts"), table_name="metrics")

    op.drop_table("metrics")
    op.drop_table("instrument_cache")
    op.drop_table("engine_state")
    op.drop_index(
        op.f("ix_calibrations_instrument_timeframe_created_at"), table_name="calibrations"
    )

    op.drop_table("calibrations")
    op.drop_index(op.f("ix_audit_log_ts"), table_name="audit_log")

    op.drop_table("audit_log")
    op.drop_index(op.f("ix_alarms_ts"), table_name="alarms")
    op.drop_index(op.f("ix_alarms_level_ts"), table_name="alarms")

    op.drop_table("alarms")
