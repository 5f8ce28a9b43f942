"""Create the flask-integrations tables.

Revision ID: 52c8760989ce
Revises:
Create Date: 2026-11-25 15:25:44.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "52c8760989ce"
down_revision = None
branch_labels = ("flask_integrations",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flask_integrations_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("extra_data", sa.JSON(), nullable=False),
        sa.Column("time_added", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_flask_integrations_config_integration_id"),
        "flask_integrations_config",
        ["integration_id"],
    )
    op.create_index(
        op.f("ix_flask_integrations_config_enabled"),
        "flask_integrations_config",
        ["enabled"],
    )
    op.create_table(
        "flask_integrations_sync",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "flask_integrations_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.String(length=255), nullable=False),
        sa.Column("config_name", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_flask_integrations_history_config_id"),
        "flask_integrations_history",
        ["config_id"],
    )
    op.create_table(
        "flask_integrations_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.String(length=255), nullable=False),
        sa.Column("event", sa.String(length=255), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_flask_integrations_delivery_delivery_id"),
        "flask_integrations_delivery",
        ["delivery_id"],
    )
    op.create_index(
        op.f("ix_flask_integrations_delivery_config_id"),
        "flask_integrations_delivery",
        ["config_id"],
    )
    op.create_table(
        "flask_integrations_delivery_state",
        sa.Column("config_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("config_id"),
    )


def downgrade() -> None:
    op.drop_table("flask_integrations_delivery_state")
    op.drop_index(
        op.f("ix_flask_integrations_delivery_config_id"),
        table_name="flask_integrations_delivery",
    )
    op.drop_index(
        op.f("ix_flask_integrations_delivery_delivery_id"),
        table_name="flask_integrations_delivery",
    )
    op.drop_table("flask_integrations_delivery")
    op.drop_index(
        op.f("ix_flask_integrations_history_config_id"),
        table_name="flask_integrations_history",
    )
    op.drop_table("flask_integrations_history")
    op.drop_table("flask_integrations_sync")
    op.drop_index(
        op.f("ix_flask_integrations_config_enabled"),
        table_name="flask_integrations_config",
    )
    op.drop_index(
        op.f("ix_flask_integrations_config_integration_id"),
        table_name="flask_integrations_config",
    )
    op.drop_table("flask_integrations_config")
